"""All the notifications SQL, one module per group of tables. Calls handle whole batches:
one statement per table, rows sorted by key so concurrent transactions lock in the same
order."""
