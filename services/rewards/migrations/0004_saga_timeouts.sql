-- Points-paid redemptions that wait for the points service too long time out (handlers/
-- timeouts.py): the job finds the oldest pending ones by this index, which holds only the
-- few pending at any moment.
CREATE INDEX redemptions_pending ON redemptions (created_at) WHERE status = 'pending';

-- A time-out's answer replaces a stored 202 too: the keys of settlements to come are the
-- unanswered ones and those answered 202 (sql/idempotency.py).
CREATE INDEX idempotency_unanswered_or_202 ON idempotency (redemption_id)
 WHERE status_code IS NULL OR status_code = 202;
DROP INDEX idempotency_unanswered;
ALTER INDEX idempotency_unanswered_or_202 RENAME TO idempotency_unanswered;
