-- The inbox grows by one row per consumed event, in processed_at order: a BRIN index serves
-- pruning by age at almost no cost per insert, where the btree cost an index entry each.
DROP INDEX inbox_processed_at;
CREATE INDEX inbox_processed_at ON inbox USING brin (processed_at);
