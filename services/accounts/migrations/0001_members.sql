-- Members, their contact data (PII) and consents, and tier status by assets.
-- Mobile numbers and openids are never stored in plaintext: *_enc is AES-GCM ciphertext
-- (services/accounts/pii.py), *_hash an HMAC-SHA256 keyed hash for lookups.

CREATE TABLE members (
    member_id          text PRIMARY KEY,
    status             text NOT NULL CHECK (status IN ('active', 'closed')),
    family_name        text,
    given_name         text,
    gender             text CHECK (gender IN ('male', 'female', 'unknown')),
    birth_date         date,
    preferred_language text CHECK (preferred_language IN ('zh-CN', 'en-US')),
    mobile_enc         bytea,
    mobile_hash        bytea,
    openid_enc         bytea,
    openid_hash        bytea,
    service_messages   boolean,
    marketing          boolean,
    enrolled_at        timestamptz,
    profile_at         timestamptz,          -- time of the core-banking profile applied
    closed_at          timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    -- An active member has contact data; a closed one has none left (erased on closing).
    CHECK ((status = 'active' AND family_name IS NOT NULL AND given_name IS NOT NULL
            AND gender IS NOT NULL AND birth_date IS NOT NULL AND preferred_language IS NOT NULL
            AND mobile_enc IS NOT NULL AND mobile_hash IS NOT NULL
            AND service_messages IS NOT NULL AND marketing IS NOT NULL)
        OR (status = 'closed' AND family_name IS NULL AND given_name IS NULL AND gender IS NULL
            AND birth_date IS NULL AND mobile_enc IS NULL AND mobile_hash IS NULL
            AND openid_enc IS NULL AND openid_hash IS NULL)),
    CHECK ((openid_enc IS NULL) = (openid_hash IS NULL))
);
CREATE INDEX members_mobile_hash ON members (mobile_hash) WHERE mobile_hash IS NOT NULL;
CREATE INDEX members_openid_hash ON members (openid_hash) WHERE openid_hash IS NOT NULL;

-- Every consent given or withdrawn, with when and from where (kept after closing: it is
-- the record of what the member agreed to, and holds no contact data).
CREATE TABLE consent_changes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id  text NOT NULL,
    consent    text NOT NULL CHECK (consent IN ('service_messages', 'marketing')),
    granted    boolean NOT NULL,
    changed_at timestamptz NOT NULL,     -- when core banking recorded it
    source     text NOT NULL,            -- the CloudEvents source of the customer event
    event_id   text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consent_changes_member ON consent_changes (member_id, id);

-- Monthly asset snapshots, one per member and month: the first delivery of a month wins,
-- later ones (duplicates, re-sends) change nothing. Kept for members not enrolled yet: the
-- two topics are consumed independently and enrolment decides from them.
CREATE TABLE asset_snapshots (
    member_id            text NOT NULL,
    month                text NOT NULL CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    average_daily_assets numeric(14, 2) NOT NULL CHECK (average_daily_assets >= 0),
    taken_at             timestamptz NOT NULL,
    event_id             text NOT NULL,
    received_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, month)
);

-- Manual overrides by relationship managers: the audit of who set what, why and until when.
CREATE TABLE tier_overrides (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id   text NOT NULL,
    tier        text NOT NULL CHECK (tier IN ('standard', 'gold', 'oto_fortune', 'private_banking')),
    until       date NOT NULL,           -- last day it applies (Asia/Shanghai), inclusive
    reason      text NOT NULL,
    staff_id    text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz,
    end_reason  text CHECK (end_reason IN ('expired', 'withdrawn', 'replaced', 'member_closed')),
    ended_by    text                     -- staff id when withdrawn or replaced
);
CREATE INDEX tier_overrides_member ON tier_overrides (member_id, id);

-- Current tier status: `tier` is effective (what the member has and other services are
-- told), `asset_tier` what the asset rules say; they differ only under an override.
CREATE TABLE member_tiers (
    member_id        text PRIMARY KEY,
    tier             text NOT NULL CHECK (tier IN ('standard', 'gold', 'oto_fortune', 'private_banking')),
    effective_date   date NOT NULL,
    asset_tier       text NOT NULL CHECK (asset_tier IN ('standard', 'gold', 'oto_fortune', 'private_banking')),
    asset_tier_month text,               -- the snapshot month that set asset_tier
    latest_month     text,               -- newest snapshot month decided on
    override_id      bigint REFERENCES tier_overrides (id),
    override_tier    text,
    override_until   date,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((override_id IS NULL) = (override_until IS NULL)
           AND (override_id IS NULL) = (override_tier IS NULL))
);
CREATE INDEX member_tiers_override_until ON member_tiers (override_until)
    WHERE override_until IS NOT NULL;

-- Every change of the effective tier, with its reason: what member.tier-changed announced.
CREATE TABLE tier_history (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id      text NOT NULL,
    old_tier       text NOT NULL,
    new_tier       text NOT NULL,
    reason         text NOT NULL CHECK (reason IN ('assets_qualified', 'assets_below',
                                                   'manual_override', 'override_ended')),
    effective_date date NOT NULL,
    assets_month   text,
    override_id    bigint REFERENCES tier_overrides (id),
    changed_at     timestamptz NOT NULL,
    event_id       text NOT NULL UNIQUE
);
CREATE INDEX tier_history_member ON tier_history (member_id, id);

-- History and audit are facts: never rewritten.
CREATE FUNCTION reject_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER tier_history_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON tier_history
    FOR EACH STATEMENT EXECUTE FUNCTION reject_rewrite();
CREATE TRIGGER consent_changes_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON consent_changes
    FOR EACH STATEMENT EXECUTE FUNCTION reject_rewrite();
