"""All the points service's SQL, one module per group of tables. Every call handles a whole
batch: one statement (or COPY) per table, rows sorted by key so concurrent transactions
lock in the same order."""
