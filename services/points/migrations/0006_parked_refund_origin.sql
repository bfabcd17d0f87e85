-- Where a parked refund was consumed from (its Kafka topic, partition and offset), so that a
-- refund whose purchase never comes is dead-lettered with the same headers as any consumed
-- record. Refunds parked before this migration have none (NULL).
ALTER TABLE pending_refunds
    ADD COLUMN original_topic     text,
    ADD COLUMN original_partition integer,
    ADD COLUMN original_offset    bigint;
