-- No NOTIFY per outbox insert. A transaction that has called NOTIFY takes one database-wide
-- lock at commit and keeps it through the WAL flush, so every writing transaction of every
-- service queued behind the others' fsync: at 1,000 lounge visits/s, 7,397 of 8,700 samples
-- of waiting backends were on that lock ("Lock: object"), with stalls of 250 ms. The relay
-- polls instead (RELAY_POLL_SECONDS, 20 ms), and keeps going while batches come back full.
DROP TRIGGER outbox_notify ON outbox;
DROP FUNCTION outbox_notify();
