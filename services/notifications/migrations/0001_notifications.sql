-- Contact projection: how to reach a member, from accounts' contact events (last one wins).
-- Phone number and openid are AES-GCM sealed (crypto.py); the masked number is what
-- screens and events may show. Deleted when the member closes.
CREATE TABLE contacts (
    member_id         text PRIMARY KEY,
    family_name       text NOT NULL,
    gender            text NOT NULL CHECK (gender IN ('male', 'female', 'unknown')),
    birth_date        date NOT NULL,
    mobile_sealed     bytea NOT NULL,
    mobile_masked     text NOT NULL,
    openid_sealed     bytea,
    language          text NOT NULL CHECK (language IN ('zh-CN', 'en-US')),
    service_consent   boolean NOT NULL,
    marketing_consent boolean NOT NULL,
    changed_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contacts_birthday ON contacts (
    (extract(month FROM birth_date)), (extract(day FROM birth_date))) WHERE marketing_consent;

-- Closed members: a contact event arriving after the closure must not bring data back.
CREATE TABLE closed_members (
    member_id text PRIMARY KEY,
    closed_at timestamptz NOT NULL
);

-- The message log: one row per (causing event, template), whatever happens to it.
CREATE TABLE messages (
    id                  uuid PRIMARY KEY,  -- uuid5 of (cause, template): stable across replays
    cause_id            text NOT NULL,     -- ce_id of the event, or 'summary:<m>:<day>' etc.
    template            text NOT NULL,
    member_id           text NOT NULL,
    category            text NOT NULL CHECK (category IN ('transactional', 'service', 'marketing')),
    facts               jsonb NOT NULL,    -- the event's facts; no personal data
    state               text NOT NULL CHECK (state IN (
                            'queued', 'sent', 'delivered', 'failed', 'capped', 'skipped',
                            'cancelled')),
    not_before          timestamptz NOT NULL,
    day                 date,              -- local day it counts against the cap; null: uncounted
    language            text,
    body                jsonb,             -- rendered: sms_text, sms_params, wechat_fields
    sms_only            boolean NOT NULL DEFAULT false,  -- WeChat refused it: SMS from now on
    attempts            integer NOT NULL DEFAULT 0,
    channel             text CHECK (channel IN ('wechat', 'sms')),
    provider            text,
    provider_message_id text,
    reason              text,              -- why skipped / capped / failed
    error_code          text,
    created_at          timestamptz NOT NULL,
    sent_at             timestamptz,
    finished_at         timestamptz,
    UNIQUE (cause_id, template)
);
CREATE INDEX messages_due ON messages (not_before) WHERE state = 'queued';
CREATE INDEX messages_member_day ON messages (member_id, day) WHERE day IS NOT NULL;
CREATE INDEX messages_provider_id ON messages (provider_message_id)
    WHERE provider_message_id IS NOT NULL;

-- Every provider call.
CREATE TABLE message_attempts (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id          uuid NOT NULL REFERENCES messages (id),
    attempt             integer NOT NULL,
    channel             text NOT NULL,
    provider            text NOT NULL,
    outcome             text NOT NULL CHECK (outcome IN ('sent', 'transient', 'permanent', 'fallback')),
    code                text,
    provider_message_id text,
    at                  timestamptz NOT NULL
);
CREATE INDEX message_attempts_message ON message_attempts (message_id);

-- Delivery receipts as the providers reported them (no phone number kept).
CREATE TABLE delivery_receipts (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider            text NOT NULL,
    provider_message_id text NOT NULL,
    message_id          uuid,              -- null when no message matched
    delivered           boolean NOT NULL,
    code                text,
    received_at         timestamptz NOT NULL DEFAULT now()
);

-- Points earned per member and summary day, until the day's summary is queued.
CREATE TABLE points_summaries (
    member_id text NOT NULL,
    day       date NOT NULL,
    points    bigint NOT NULL,
    purchases integer NOT NULL,
    queued    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (member_id, day)
);
CREATE INDEX points_summaries_open ON points_summaries (day) WHERE NOT queued;
