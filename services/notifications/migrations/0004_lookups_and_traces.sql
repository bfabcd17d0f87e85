-- A send its sender died during is not settled blind any more: the provider is asked
-- what it received under the message's id (providers/base.py `status`). sending_at is
-- when the call began (the lookup's day and time); lookups counts the leases under which
-- the provider was asked, bounding them.
ALTER TABLE messages
    ADD COLUMN sending_at timestamptz,
    ADD COLUMN lookups integer NOT NULL DEFAULT 0,
    -- The W3C trace context the message was planned in: its provider calls join that trace.
    ADD COLUMN traceparent text;
-- A day's points summary continues the trace of the first purchase it counts.
ALTER TABLE points_summaries ADD COLUMN traceparent text;
