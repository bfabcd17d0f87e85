"""The points service: the double-entry points ledger, earning rules and campaigns.

Where to look:
- `app.py`: where everything enters (subscriptions, the expiry job, HTTP routes).
- `handlers/`: one module per input: load, decide (domain/), save (sql/), emit.
- `domain/`: the pure rules: earning, re-rating after a tier change for a past day, the
  member's ledger, refunds, redemption debits.
- `programme.toml`: the programme's configuration (categories, tiers, caps, campaigns),
  loaded by `settings.py` and validated by `domain/rules.py` at start-up.
- `sql/`: all the SQL, one module per group of tables; `migrations/`: the tables.
- `api.py`: the app's reads (balance, history).
- `invariants.py`: checks the ledger adds up; `parked.py`: retry and expire parked refunds
  (both run by `loyalty-ops reconcile` and `loyalty-ops refunds`, ops/).
"""
