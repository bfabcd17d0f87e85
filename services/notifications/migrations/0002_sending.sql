-- A message is marked 'sending' (committed) before its provider call, with not_before as
-- the lease: a sender killed mid-call leaves it so, and once the lease has run out it is
-- settled without a second call (sent, outcome 'unknown'): a provider never gets it twice.
ALTER TABLE messages DROP CONSTRAINT messages_state_check;
ALTER TABLE messages ADD CONSTRAINT messages_state_check CHECK (state IN (
    'queued', 'sending', 'sent', 'delivered', 'failed', 'capped', 'skipped', 'cancelled'));
CREATE INDEX messages_sending ON messages (not_before) WHERE state = 'sending';

ALTER TABLE message_attempts DROP CONSTRAINT message_attempts_outcome_check;
ALTER TABLE message_attempts ADD CONSTRAINT message_attempts_outcome_check CHECK (
    outcome IN ('sent', 'transient', 'permanent', 'fallback', 'unknown'));
