-- Tiers decided in event time from all of a member's facts, whatever order they arrived in
-- (services/accounts/domain/tiers.py).

-- The days an override applies, as facts the timeline is folded from: the day it was set,
-- and the first day without it once withdrawn, replaced or run out. Earlier rows get them
-- from their timestamps in the programme's zone as shipped (tiers.toml).
ALTER TABLE tier_overrides ADD COLUMN starts_on date, ADD COLUMN ended_on date;
UPDATE tier_overrides SET
    starts_on = (created_at AT TIME ZONE 'Asia/Shanghai')::date,
    ended_on = CASE WHEN end_reason IN ('withdrawn', 'replaced')
                    THEN (ended_at AT TIME ZONE 'Asia/Shanghai')::date
                    WHEN end_reason = 'expired' THEN until + 1 END;
ALTER TABLE tier_overrides ALTER COLUMN starts_on SET NOT NULL;

-- A member's timeline: every change of the effective tier, by effective date, as the facts
-- known now decide it. Replaced whenever a fact changes it; what the app's tier history
-- shows. tier_history stays the append-only audit of what member.tier-changed announced,
-- corrections included.
CREATE TABLE tier_timeline (
    member_id      text NOT NULL,
    effective_date date NOT NULL,
    old_tier       text NOT NULL,
    new_tier       text NOT NULL,
    reason         text NOT NULL,
    assets_month   text,
    override_id    bigint REFERENCES tier_overrides (id),
    PRIMARY KEY (member_id, effective_date)
);

-- Members decided before: what was announced, the last word for each day.
INSERT INTO tier_timeline
SELECT DISTINCT ON (member_id, effective_date)
       member_id, effective_date, old_tier, new_tier, reason, assets_month, override_id
FROM tier_history ORDER BY member_id, effective_date, id DESC;
