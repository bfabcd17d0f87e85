-- The ledger as transfers: one row moves points from one account to another. Every posting
-- this ledger ever made had exactly two lines (a member against one programme account), so
-- the header-plus-lines journal cost three rows and five index entries per fact for nothing
-- a transfer cannot say. Double entry holds by construction: what one account is debited,
-- the other is credited (the same model as TigerBeetle's transfers).
-- Direction: points leave debit_account and arrive on credit_account. Earning debits
-- programme:issuance and credits the member, so -balance(issuance) is every point issued.
CREATE TABLE transfers (
    id             bigint GENERATED ALWAYS AS IDENTITY,  -- order of recording, for history
    kind           text NOT NULL CHECK (kind IN ('earn', 'reverse', 'debit', 'refund',
                                                 'expire', 'forfeit')),
    reference      text NOT NULL,  -- the business id: transaction, refund, redemption, lot
    member_id      text NOT NULL,
    debit_account  text NOT NULL,
    credit_account text NOT NULL,
    points         bigint NOT NULL CHECK (points > 0),
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, reference),  -- one transfer per fact, however often it is delivered
    CHECK (debit_account <> credit_account),
    CHECK (debit_account = 'member:' || member_id OR credit_account = 'member:' || member_id)
);
CREATE INDEX transfers_member ON transfers (member_id, id);

INSERT INTO transfers (kind, reference, member_id, debit_account, credit_account, points,
                       occurred_at, recorded_at)
SELECT p.kind, p.reference, p.member_id,
       CASE WHEN m.amount > 0 THEN c.account_id ELSE m.account_id END,
       CASE WHEN m.amount > 0 THEN m.account_id ELSE c.account_id END,
       abs(m.amount), p.occurred_at, p.recorded_at
FROM postings p
JOIN ledger_entries m ON m.posting_id = p.id AND m.account_id = 'member:' || p.member_id
JOIN ledger_entries c ON c.posting_id = p.id AND c.account_id <> m.account_id
ORDER BY m.id;

DROP TABLE ledger_entries;
DROP TABLE postings;

CREATE TRIGGER transfers_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON transfers
    FOR EACH STATEMENT EXECUTE FUNCTION reject_rewrite();

-- The same ledger as debit and credit lines, for auditors and the invariant check.
CREATE VIEW ledger_entries AS
    SELECT id AS transfer_id, credit_account AS account_id, points AS amount FROM transfers
    UNION ALL
    SELECT id, debit_account, -points FROM transfers;
