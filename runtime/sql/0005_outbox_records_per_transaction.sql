-- One outbox row per transaction (per statement that writes the outbox), holding all of its
-- records in order, where there was one row per record: a consumed batch of 500 purchases
-- wrote and then deleted 500 rows, now one. A row's records are parallel arrays: topics,
-- keys, payloads (a NULL payload is a tombstone), and header_counts[i] headers of record i,
-- taken in turn from the flat header_names and header_values. The relay publishes the rows
-- in id order and each row's records in array order (runtime/relay.py).
--
-- Rows written before this migration (one record each, in topic/key/value) stay readable:
-- the relay reads a row without `topics` as that one record. A relay of the version before
-- this one cannot read the new rows (it fails and restarts, and its lock passes to an
-- instance of this version): roll out with the relay moving to the new version.
ALTER TABLE outbox
    ALTER COLUMN topic DROP NOT NULL,
    ADD COLUMN records int,
    ADD COLUMN topics text[],
    ADD COLUMN keys bytea[],
    ADD COLUMN payloads bytea[],
    ADD COLUMN header_counts int[];
