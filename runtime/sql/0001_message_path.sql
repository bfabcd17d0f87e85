-- Inbox and outbox of the message path; created in every service's own schema.

-- One row per consumed event id: a redelivered event finds its id here and is dropped.
CREATE TABLE inbox (
    event_id     text PRIMARY KEY,
    topic        text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbox_processed_at ON inbox (processed_at);

-- Records to publish, written in the same transaction as the state they describe.
-- Dead letters go this way too, so a dead letter is written exactly once.
CREATE TABLE outbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic         text NOT NULL,
    key           bytea,
    value         bytea NOT NULL,
    header_names  text[] NOT NULL,
    header_values bytea[] NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Wake the relay once per inserting statement, not once per row.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '_outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
