-- The catalogue is managed by staff (api.py, handlers/catalogue.py): the database is its
-- truth. Every change takes the next catalogue version (one row, locked by the change's
-- transaction, so versions are given in commit order) and is audited; each instance keeps
-- a view in memory and reloads the entries above the version it has whenever the version
-- moves (handlers/catalogue.py). The demo files seed it on the first start after this
-- migration (`seeded_at`), never again: staff changes are not overwritten.

-- Whose entry it is (the partner told of its changes), where it is redeemable (the cities
-- of the merchant's outlets; none: everywhere), and whether it was withdrawn.
ALTER TABLE offers
    ADD COLUMN partner_id text NOT NULL DEFAULT '',
    ADD COLUMN cities     text[] NOT NULL DEFAULT '{}',
    ADD COLUMN status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'withdrawn')),
    ADD COLUMN version    bigint NOT NULL DEFAULT 0,
    ADD COLUMN changed_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN changed_by text NOT NULL DEFAULT 'seed';

-- A lounge's partner is its operator; its validity window is open at either end if null.
ALTER TABLE lounges
    ADD COLUMN valid_from  date,
    ADD COLUMN valid_until date,  -- inclusive
    ADD COLUMN status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'withdrawn')),
    ADD COLUMN version     bigint NOT NULL DEFAULT 0,
    ADD COLUMN changed_at  timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN changed_by  text NOT NULL DEFAULT 'seed',
    ADD CHECK (valid_from <= valid_until);

CREATE INDEX offers_version ON offers (version);
CREATE INDEX lounges_version ON lounges (version);
CREATE INDEX offers_partner ON offers (partner_id);
CREATE INDEX lounges_operator ON lounges (operator_id);

CREATE TABLE catalogue_state (
    one       boolean PRIMARY KEY DEFAULT true CHECK (one),
    version   bigint NOT NULL,
    seeded_at timestamptz
);
INSERT INTO catalogue_state (version) VALUES (0);

-- The audit: who changed which entry when, what it was before and after. Append-only.
CREATE TABLE catalogue_changes (
    version    bigint PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('offer', 'lounge')),
    entry_id   text NOT NULL,
    partner_id text NOT NULL,
    change     text NOT NULL CHECK (change IN ('created', 'changed', 'withdrawn')),
    staff_id   text NOT NULL,
    reason     text,
    at         timestamptz NOT NULL,
    before     jsonb,
    after      jsonb NOT NULL
);
CREATE INDEX catalogue_changes_partner ON catalogue_changes (partner_id, version);
