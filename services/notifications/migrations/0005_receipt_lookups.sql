-- Receipts that never came: an SMS 'sent' for a while without one is looked up at its
-- provider (handlers/receipt_lookups.py). receipt_lookups counts the lookups (bounded),
-- receipt_check_at is when it may be asked next.
ALTER TABLE messages
    ADD COLUMN receipt_lookups integer NOT NULL DEFAULT 0,
    ADD COLUMN receipt_check_at timestamptz,
    -- When an SMS call whose outcome is unknown (timed out, connection broken mid-call) was
    -- made: before it is sent again the provider is asked whether it got it.
    ADD COLUMN unsure_since timestamptz;
CREATE INDEX messages_awaiting_receipt ON messages (sent_at) WHERE state = 'sent';
