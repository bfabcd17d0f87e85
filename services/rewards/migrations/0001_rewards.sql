-- The rewards service: partners and their keys, the catalogue, a projection of members,
-- per-period usage counters, redemption codes, redemptions, and the partner API's
-- replay protection (nonces) and stored first answers (idempotency keys).

CREATE TABLE partners (
    id              text PRIMARY KEY,
    name            text NOT NULL,
    scopes          text[] NOT NULL,           -- 'lounge', 'offers'
    lounges         text[] NOT NULL DEFAULT '{}',  -- shell-style patterns of lounge ids
    offers          text[] NOT NULL DEFAULT '{}',  -- shell-style patterns of offer ids
    rate_per_second integer NOT NULL CHECK (rate_per_second > 0),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- HMAC secrets, encrypted with AES-GCM under the service's key (PARTNER_KEY_ENCRYPTION_KEY):
-- the server must know the secret to check a signature, so it cannot store a one-way hash.
CREATE TABLE partner_keys (
    key_id     text PRIMARY KEY,
    partner_id text NOT NULL REFERENCES partners (id),
    secret_enc bytea NOT NULL,  -- 12-byte nonce || ciphertext+tag
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX partner_keys_live ON partner_keys (partner_id) WHERE revoked_at IS NULL;

CREATE TABLE offers (
    id               text PRIMARY KEY,
    merchant         text NOT NULL,
    industry         text NOT NULL,
    title            text NOT NULL,
    points_price     integer CHECK (points_price > 0),
    discount_percent integer CHECK (discount_percent BETWEEN 1 AND 99),
    valid_from       date NOT NULL,
    valid_until      date NOT NULL,               -- inclusive
    eligible_tiers   text[] NOT NULL,
    limit_per_period integer NOT NULL CHECK (limit_per_period > 0),
    period           text NOT NULL CHECK (period IN ('day', 'month', 'year')),
    CHECK ((points_price IS NULL) <> (discount_percent IS NULL)),
    CHECK (valid_from <= valid_until)
);

CREATE TABLE lounges (
    id           text PRIMARY KEY,
    airport_code text NOT NULL CHECK (airport_code ~ '^[A-Z]{3}$'),
    city         text NOT NULL,
    terminal     text NOT NULL,
    name         text NOT NULL,
    operator_id  text NOT NULL,
    operator     text NOT NULL
);

-- Tier and closure as told by the accounts service; no row means Standard.
CREATE TABLE members (
    member_id  text PRIMARY KEY,
    tier       text NOT NULL CHECK (tier IN ('standard', 'gold', 'oto_fortune', 'private_banking')),
    closed     boolean NOT NULL DEFAULT false,
    changed_at timestamptz NOT NULL  -- of the last applied event: older ones do not win
);

-- What a member used in a period: lounge visits per calendar year (item 'lounge', period
-- '2026'), an offer per its period ('2026-11', '2026-11-23', '2026'). Redemptions take and
-- give back under a row lock, so concurrent ones never exceed the allowance.
CREATE TABLE usage (
    member_id text NOT NULL,
    item      text NOT NULL,
    period    text NOT NULL,
    used      integer NOT NULL CHECK (used >= 0),
    PRIMARY KEY (member_id, item, period)
);

-- Redemption codes: random, stored only as an HMAC of the code (a database reader cannot
-- redeem them), single-use, short-lived.
CREATE TABLE codes (
    code_hash  bytea PRIMARY KEY,
    member_id  text NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX codes_expires ON codes (expires_at);

CREATE TABLE redemptions (
    id              text PRIMARY KEY,
    partner_id      text NOT NULL REFERENCES partners (id),
    member_id       text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('lounge', 'offer')),
    item_id         text NOT NULL,
    title           text NOT NULL,
    persons         integer NOT NULL CHECK (persons BETWEEN 1 AND 10),
    points          integer NOT NULL CHECK (points >= 0),   -- asked of the points service
    -- What the redemption took from `usage`, given back on rejection or cancellation.
    usage_item      text NOT NULL,
    usage_period    text NOT NULL,
    usage_taken     integer NOT NULL CHECK (usage_taken >= 0),
    status          text NOT NULL CHECK (status IN ('pending', 'confirmed', 'rejected',
                                                    'cancelled')),
    reason          text,             -- why it was rejected
    valid_on        date,
    refund_status   text CHECK (refund_status IN ('requested', 'refunded')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    settled_at      timestamptz,      -- confirmed or rejected
    cancelled_at    timestamptz
);
CREATE INDEX redemptions_partner ON redemptions (partner_id, created_at DESC, id);

-- Replay protection: a (key, nonce) pair is accepted once. Rows older than twice the
-- timestamp tolerance can no longer be replayed and are pruned.
CREATE TABLE nonces (
    key_id  text NOT NULL,
    nonce   text NOT NULL,
    seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_id, nonce)
);
CREATE INDEX nonces_seen ON nonces (seen_at);

-- The first answer to each (partner, Idempotency-Key). The row is written in the same
-- transaction as the redemption, so a concurrent duplicate waits on its unique key and then
-- reads the answer; a saga's answer is filled in once known (any request may fill it).
CREATE TABLE idempotency (
    partner_id    text NOT NULL,
    key           text NOT NULL,
    request_hash  bytea NOT NULL,
    redemption_id text,
    status_code   integer,
    response      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partner_id, key)
);
CREATE INDEX idempotency_created ON idempotency (created_at);
