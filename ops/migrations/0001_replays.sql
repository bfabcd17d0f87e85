-- Dead letters replayed by `loyalty-ops dead-letters replay`: one row per dead letter (its
-- place on its dead-letter topic), written in the transaction that released its event id
-- from the consumer group's inbox and published it, so each is replayed once (unless asked
-- again) and `list` shows what was.
CREATE TABLE dead_letter_replays (
    dlq_topic      text NOT NULL,
    dlq_partition  integer NOT NULL,
    dlq_offset     bigint NOT NULL,
    event_id       text,
    original_topic text NOT NULL,
    consumer_group text NOT NULL,
    replayed_at    timestamptz NOT NULL DEFAULT now(),
    replayed_by    text NOT NULL,
    PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset)
);
