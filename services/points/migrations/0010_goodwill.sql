-- Goodwill points for complaint recovery (domain/goodwill.py, handlers/goodwill.py): staff
-- award points with a complaint reference and a reason code, a transfer from the goodwill
-- programme account; above the configured size a second staff member approves first.
ALTER TABLE accounts DROP CONSTRAINT accounts_kind_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_kind_check
    CHECK (kind IN ('member', 'issuance', 'redemption', 'expiry', 'forfeiture', 'goodwill'));
INSERT INTO accounts (id, kind) VALUES ('programme:goodwill', 'goodwill');

ALTER TABLE transfers DROP CONSTRAINT transfers_kind_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_kind_check
    CHECK (kind IN ('earn', 'reverse', 'debit', 'refund', 'expire', 'forfeit', 'goodwill'));

-- Each award and its audit: who asked and when, who approved or rejected it and when.
-- The award's transfer is referenced by the complaint (kind 'goodwill').
CREATE TABLE goodwill_awards (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    complaint_reference text NOT NULL UNIQUE,  -- one award per complaint, however often asked
    member_id           text NOT NULL,
    points              integer NOT NULL CHECK (points > 0),
    reason              text NOT NULL,         -- a configured reason code
    note                text,                  -- the staff member's words, if any
    year                integer NOT NULL,      -- Asia/Shanghai, of the request: the limits'
    requested_by        text NOT NULL,
    requested_at        timestamptz NOT NULL,
    needs_approval      boolean NOT NULL,
    status              text NOT NULL CHECK (status IN ('pending', 'awarded', 'rejected')),
    decided_by          text,                  -- the approver; none under the threshold
    decided_at          timestamptz,
    -- Four eyes: nobody decides their own award.
    CHECK (decided_by IS DISTINCT FROM requested_by),
    CHECK ((status = 'pending') = (decided_at IS NULL)),
    CHECK (CASE WHEN status = 'pending' THEN decided_by IS NULL
                ELSE needs_approval = (decided_by IS NOT NULL) END)
);
CREATE INDEX goodwill_awards_year ON goodwill_awards (year, member_id) WHERE status <> 'rejected';
CREATE INDEX goodwill_awards_pending ON goodwill_awards (id) WHERE status = 'pending';
