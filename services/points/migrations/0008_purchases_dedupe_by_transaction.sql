-- Card transactions skip the inbox (runtime/consumer.py `inbox=False`): a purchase is
-- deduplicated by its transaction id in `earnings`, an inbox row and two index entries fewer
-- per purchase. The event that earned is kept, to tell a redelivery (the same event: a
-- duplicate) from core banking re-sending the transaction under a new event id. NULL: earned
-- before this migration.
ALTER TABLE earnings ADD COLUMN event_id text;

-- A member's account id is 'member:' || member_id, so the primary key already makes the
-- member unique: a check says so without an index entry per new member.
ALTER TABLE accounts DROP CONSTRAINT accounts_member_id_key;
ALTER TABLE accounts ADD CONSTRAINT accounts_member_id_check
    CHECK (member_id IS NULL OR id = 'member:' || member_id);
