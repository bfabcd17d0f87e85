-- Campaigns staff add, change and end while the service runs (handlers/campaigns.py,
-- docs/earning-rules.md): the campaigns in force, their version, and every change.
-- `definition` is the campaign as domain/rules.py `Campaign` reads it (JSON).
CREATE TABLE campaigns (
    id          text PRIMARY KEY,
    definition  jsonb NOT NULL,
    changed_at  timestamptz NOT NULL,
    changed_by  text NOT NULL
);

-- One row, bumped by every change (in the change's transaction): each instance compares it
-- with the version it holds before a batch is rated, and reloads the campaigns on a change.
CREATE TABLE campaigns_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   bigint NOT NULL
);
INSERT INTO campaigns_version (version) VALUES (0);

-- The audit: who changed which campaign, when, from what to what. Append-only.
CREATE TABLE campaign_changes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version     bigint NOT NULL,
    campaign_id text NOT NULL,
    action      text NOT NULL CHECK (action IN ('seeded', 'added', 'changed', 'ended')),
    staff_id    text NOT NULL,   -- 'programme.toml' for the starting set
    changed_at  timestamptz NOT NULL,
    before      jsonb,
    after       jsonb NOT NULL
);
CREATE INDEX campaign_changes_by_campaign ON campaign_changes (campaign_id, id);
CREATE TRIGGER campaign_changes_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
    ON campaign_changes FOR EACH STATEMENT EXECUTE FUNCTION reject_rewrite();

-- How a purchase was paid (the card transaction's optional `channel`): re-rating rates it
-- again with its channel's rule. NULL: core banking did not say (or before this migration).
ALTER TABLE earnings ADD COLUMN channel text;

CREATE OR REPLACE VIEW ratings AS
SELECT e.transaction_id, e.member_id, e.mcc, e.spend_cny, e.earned_at, e.expires_on,
       coalesce(x.revision, 0) AS revision,
       coalesce(x.points, e.points) AS points,
       coalesce(x.base_points, e.base_points) AS base_points,
       coalesce(x.bonus_points, e.bonus_points) AS bonus_points,
       coalesce(x.multiplier, e.multiplier) AS multiplier,
       coalesce(x.tier, e.tier) AS tier,
       coalesce(x.rule_ids, e.rule_ids) AS rule_ids,
       coalesce(x.caps_applied, e.caps_applied) AS caps_applied,
       coalesce(x.reversed_adjustment, 0) AS reversed_adjustment,
       e.channel
FROM earnings e
LEFT JOIN LATERAL (SELECT * FROM reratings r WHERE r.transaction_id = e.transaction_id
                   ORDER BY r.revision DESC LIMIT 1) x ON true;
