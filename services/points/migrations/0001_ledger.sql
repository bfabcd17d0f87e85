-- The points ledger, double entry as a journal: a posting is one business fact (a purchase
-- earning points), its lines in ledger_entries sum to zero. A journal rather than pairs of
-- debit/credit rows because later postings touch more than two accounts (a redemption
-- drawing on several lots, a year-end expiry) and state their facts once.
-- Sign: amount > 0 credits an account (points in), < 0 debits it (points out). Earning
-- debits programme:issuance and credits the member, so -sum(issuance) is every point issued.

-- A member's tier, as last told by the accounts service; no row means standard.
CREATE TABLE member_tiers (
    member_id  text PRIMARY KEY,
    tier       text NOT NULL CHECK (tier IN ('standard', 'gold', 'oto_fortune', 'private_banking')),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE accounts (
    id        text PRIMARY KEY,  -- 'member:<member id>' or 'programme:<kind>'
    kind      text NOT NULL CHECK (kind IN ('member', 'issuance', 'redemption', 'expiry')),
    member_id text UNIQUE,
    opened_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'member') = (member_id IS NOT NULL))
);
INSERT INTO accounts (id, kind) VALUES
    ('programme:issuance', 'issuance'),
    ('programme:redemption', 'redemption'),
    ('programme:expiry', 'expiry');

CREATE TABLE postings (
    id          uuid PRIMARY KEY,
    kind        text NOT NULL,         -- 'earn'; reversals, debits, expiry come with their slices
    reference   text NOT NULL,         -- the business id: the card transaction for 'earn'
    member_id   text NOT NULL,
    occurred_at timestamptz NOT NULL,  -- when it happened (the purchase was posted)
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, reference)           -- one posting per fact, however often it is delivered
);

CREATE TABLE ledger_entries (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    posting_id uuid NOT NULL REFERENCES postings (id),
    account_id text NOT NULL REFERENCES accounts (id),
    amount     bigint NOT NULL CHECK (amount <> 0)
);
CREATE INDEX ledger_entries_posting ON ledger_entries (posting_id);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, id);

-- Kept in the posting's transaction so reads never sum the ledger. Only members have a row:
-- a programme account's row would be one hot row every batch waits on.
CREATE TABLE balances (
    member_id  text PRIMARY KEY REFERENCES accounts (member_id),
    points     bigint NOT NULL,  -- may go negative later, through reversals only
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Points by when they expire; spending takes the nearest expiry first.
CREATE TABLE lots (
    posting_id uuid PRIMARY KEY REFERENCES postings (id),  -- the credit that created it
    member_id  text NOT NULL,
    points     integer NOT NULL CHECK (points > 0),
    remaining  integer NOT NULL CHECK (remaining BETWEEN 0 AND points),
    earned_at  timestamptz NOT NULL,
    expires_on date NOT NULL
);
CREATE INDEX lots_open ON lots (member_id, expires_on) WHERE remaining > 0;

-- Every purchase evaluated, zero points included: what refunds reverse proportionally, what
-- support reads, and the guard against the same transaction earning twice.
CREATE TABLE earnings (
    transaction_id text PRIMARY KEY,
    member_id      text NOT NULL,
    mcc            text NOT NULL,
    spend_cny      numeric(14, 2) NOT NULL,
    points         integer NOT NULL CHECK (points >= 0),
    base_points    integer NOT NULL,
    bonus_points   integer NOT NULL,
    multiplier     numeric(7, 4) NOT NULL,
    tier           text NOT NULL,
    rule_ids       text[] NOT NULL,
    caps_applied   text[] NOT NULL,
    earned_at      timestamptz NOT NULL,
    expires_on     date NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (points = base_points + bonus_points)
);
CREATE INDEX earnings_member ON earnings (member_id, earned_at);

-- Bonus points (above base) per member and calendar month (Asia/Shanghai), for the cap.
CREATE TABLE monthly_bonus (
    member_id    text NOT NULL,
    month        date NOT NULL CHECK (extract(day FROM month) = 1),
    bonus_points integer NOT NULL CHECK (bonus_points >= 0),
    PRIMARY KEY (member_id, month)
);

-- Facts are never rewritten: a correction is a new posting.
CREATE FUNCTION reject_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION reject_rewrite();
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION reject_rewrite();
CREATE TRIGGER earnings_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON earnings
    FOR EACH STATEMENT EXECUTE FUNCTION reject_rewrite();
