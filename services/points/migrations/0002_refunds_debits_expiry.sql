-- Refunds, redemption debits, expiry, closed members, and tiers by effective date.

-- Lots become one row per member and expiry date: every purchase of a year expires on the
-- same day, so a lot per purchase only multiplied rows. Debits take the nearest date first.
CREATE TABLE lots_by_expiry (
    member_id  text NOT NULL,
    expires_on date NOT NULL,
    remaining  bigint NOT NULL CHECK (remaining >= 0),
    PRIMARY KEY (member_id, expires_on)
);
INSERT INTO lots_by_expiry (member_id, expires_on, remaining)
SELECT member_id, expires_on, sum(remaining) FROM lots GROUP BY member_id, expires_on;
DROP TABLE lots;
ALTER TABLE lots_by_expiry RENAME TO lots;
CREATE INDEX lots_due ON lots (expires_on) WHERE remaining > 0;

-- Tiers as accounts publishes them, by the day they take effect: a purchase earns with the
-- tier in force on its own date, whenever it is processed.
DROP TABLE member_tiers;
CREATE TABLE member_tiers (
    member_id      text NOT NULL,
    effective_date date NOT NULL,
    tier           text NOT NULL CHECK (tier IN ('standard', 'gold', 'oto_fortune', 'private_banking')),
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, effective_date)
);

CREATE TABLE closed_members (
    member_id text PRIMARY KEY,
    closed_at timestamptz NOT NULL
);

ALTER TABLE accounts DROP CONSTRAINT accounts_kind_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_kind_check
    CHECK (kind IN ('member', 'issuance', 'redemption', 'expiry', 'forfeiture'));
INSERT INTO accounts (id, kind) VALUES ('programme:forfeiture', 'forfeiture');

-- Refunds applied to their purchase. The cumulative amount decides the cumulative reversal,
-- so however a refund is split, the points reversed are the same and never above earned.
CREATE TABLE refunds (
    refund_id       text PRIMARY KEY,
    transaction_id  text NOT NULL REFERENCES earnings (transaction_id),
    member_id       text NOT NULL,
    amount_cny      numeric(14, 2) NOT NULL CHECK (amount_cny > 0),
    points_reversed integer NOT NULL CHECK (points_reversed >= 0),
    refunded_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_transaction ON refunds (transaction_id);
CREATE TRIGGER refunds_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON refunds
    FOR EACH STATEMENT EXECUTE FUNCTION reject_rewrite();

-- Refunds whose purchase has not arrived yet. Applied when it does; after the wait they go
-- to the dead-letter topic (with the original event) for operations.
CREATE TABLE pending_refunds (
    refund_id      text PRIMARY KEY,
    transaction_id text NOT NULL,
    member_id      text NOT NULL,
    event_id       text NOT NULL,
    payload        bytea NOT NULL,   -- the event's data and CloudEvents headers, re-encoded
    header_names   text[] NOT NULL,
    header_values  bytea[] NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_refunds_transaction ON pending_refunds (transaction_id);
CREATE INDEX pending_refunds_age ON pending_refunds (received_at);

-- Redemption debits, one per redemption, and the lots they drew on (a cancellation gives
-- the points back to those same lots).
CREATE TABLE debits (
    debit_id    text PRIMARY KEY,   -- the rewards redemption id
    member_id   text NOT NULL,
    points      integer NOT NULL CHECK (points > 0),
    outcome     text NOT NULL CHECK (outcome IN ('debited', 'rejected')),
    reason      text,
    refunded_at timestamptz,
    decided_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE debit_lots (
    debit_id   text NOT NULL REFERENCES debits (debit_id),
    member_id  text NOT NULL,
    expires_on date NOT NULL,
    points     integer NOT NULL CHECK (points > 0),
    PRIMARY KEY (debit_id, expires_on)
);

-- One expiring-soon announcement per member and expiry date.
CREATE TABLE expiry_notices (
    member_id    text NOT NULL,
    expires_on   date NOT NULL,
    points       bigint NOT NULL,
    announced_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, expires_on)
);
