-- A record without a value (a tombstone) goes through the outbox too: on a compacted
-- topic it makes compaction drop every earlier record of its key (an erased member's
-- contact data: runtime/unit_of_work.py `tombstone`).
ALTER TABLE outbox ALTER COLUMN value DROP NOT NULL;
