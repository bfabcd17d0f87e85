"""All the rewards service's SQL, one module per group of tables. Consumer writes handle a
whole batch per statement, rows sorted by key; a partner request takes its row locks in one
order (idempotency key, code, usage counter) in its one load (redemptions.py)."""
