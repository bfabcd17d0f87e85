"""All the accounts service's SQL, one module per group of tables. Consumer calls handle a
whole batch: one statement (or COPY) per table, rows sorted by member so concurrent
transactions lock in the same order."""
