-- The analytics read models: what the measures (domain/) are computed from. Every row is
-- written by a consumed event's handler, deduplicated by the inbox (counters add once per
-- event id) or by a business key (redemptions); a rebuild truncates them all and replays the
-- topics from their earliest offsets (rebuild.py). Months are "YYYY-MM" in Asia/Shanghai,
-- taken from each event's own time.

-- One row per member: when they enrolled and closed (first closure counts).
CREATE TABLE members (
    member_id       text PRIMARY KEY,
    enrolled_month  text,
    enrolled_tier   text,
    closed_month    text
);

-- Tier changes by effective day (member.tier-changed); the last received for a day wins.
CREATE TABLE tier_changes (
    member_id      text NOT NULL,
    effective_date date NOT NULL,
    tier           text NOT NULL,
    PRIMARY KEY (member_id, effective_date)
);

-- One row per member and month: what they did in it. Counters add up (spend in CNY,
-- points in points); assets are the month's snapshot (the last received wins).
CREATE TABLE member_months (
    month            text NOT NULL,
    member_id        text NOT NULL,
    purchases        integer NOT NULL DEFAULT 0,
    spend            numeric(16, 2) NOT NULL DEFAULT 0,
    refunded         numeric(16, 2) NOT NULL DEFAULT 0,
    assets           numeric(16, 2),
    redemptions      integer NOT NULL DEFAULT 0,
    salons           integer NOT NULL DEFAULT 0,
    points_issued    bigint NOT NULL DEFAULT 0,
    points_redeemed  bigint NOT NULL DEFAULT 0,
    points_expired   bigint NOT NULL DEFAULT 0,
    points_forfeited bigint NOT NULL DEFAULT 0,
    messages_sent    integer NOT NULL DEFAULT 0,
    messages_delivered integer NOT NULL DEFAULT 0,
    opt_outs         integer NOT NULL DEFAULT 0,
    PRIMARY KEY (month, member_id)
);
CREATE INDEX member_months_member ON member_months (member_id, month);

-- Confirmed redemptions, one row each (redemption.confirmed); `airport` for lounges.
CREATE TABLE redemptions (
    redemption_id text PRIMARY KEY,
    member_id     text NOT NULL,
    month         text NOT NULL,
    kind          text NOT NULL,
    item_id       text NOT NULL,
    airport       text,
    persons       integer NOT NULL,
    points        bigint NOT NULL
);
CREATE INDEX redemptions_month ON redemptions (month);

-- Per tier and month: the per-member rows summed (the tier is the member's at the month's
-- end, or their enrolment tier, standard if unknown).
CREATE VIEW member_tiers AS
SELECT mm.month, mm.member_id,
       coalesce((SELECT t.tier FROM tier_changes t
                 WHERE t.member_id = mm.member_id
                   AND t.effective_date < (to_date(mm.month, 'YYYY-MM') + interval '1 month')
                 ORDER BY t.effective_date DESC LIMIT 1),
                m.enrolled_tier, 'standard') AS tier
FROM member_months mm LEFT JOIN members m USING (member_id);

CREATE VIEW tier_months AS
SELECT mm.month, mt.tier, count(*) AS members, sum(mm.purchases) AS purchases,
       sum(mm.spend) AS spend, sum(mm.assets) AS assets,
       sum(mm.points_issued) AS points_issued, sum(mm.points_redeemed) AS points_redeemed,
       sum(mm.points_expired) AS points_expired
FROM member_months mm JOIN member_tiers mt USING (month, member_id)
GROUP BY mm.month, mt.tier;

-- Calls for relationship managers (events published), once per member and month.
CREATE TABLE calls (
    member_id text NOT NULL,
    month     text NOT NULL,
    tier      text NOT NULL,
    reason    text NOT NULL,
    PRIMARY KEY (member_id, month)
);
-- The months whose calls the monthly job worked out (once each).
CREATE TABLE call_months (
    month     text PRIMARY KEY,
    worked_at timestamptz NOT NULL DEFAULT now()
);
