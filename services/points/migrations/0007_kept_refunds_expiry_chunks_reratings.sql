-- A refund whose purchase did not come in time goes to operations but stays parked, so a
-- purchase arriving later still finds it: dead_lettered_at says when operations were told.
ALTER TABLE pending_refunds ADD COLUMN dead_lettered_at timestamptz;

-- The expiry job walks due lots in chunks by (expiry date, member). Still no index on
-- `remaining`, so lot updates stay HOT (0005).
CREATE INDEX lots_due_members ON lots (expires_on, member_id);
DROP INDEX lots_due;

-- A purchase worked out again after accounts changed the tier of its day (a late fact or a
-- correction): one row per revision, the last one is the purchase's rating now. The first
-- rating stays in `earnings`. The member's points moved by `points_moved` (a transfer
-- whose reference is this row's); `reversed_adjustment` is what the re-ratings so far
-- changed in the points its refunds took back (refunds reverse a share of the points).
CREATE TABLE reratings (
    reference           text PRIMARY KEY,  -- '<transaction id>/rerated-<revision>'
    transaction_id      text NOT NULL REFERENCES earnings (transaction_id),
    revision            integer NOT NULL CHECK (revision > 0),
    member_id           text NOT NULL,
    points              integer NOT NULL CHECK (points >= 0),
    base_points         integer NOT NULL,
    bonus_points        integer NOT NULL,
    multiplier          numeric(7, 4) NOT NULL,
    tier                text NOT NULL,
    rule_ids            text[] NOT NULL,
    caps_applied        text[] NOT NULL,
    reversed_adjustment integer NOT NULL,
    points_moved        integer NOT NULL,
    rerated_at          timestamptz NOT NULL,
    recorded_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (transaction_id, revision),
    CHECK (points = base_points + bonus_points)
);
CREATE TRIGGER reratings_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON reratings
    FOR EACH STATEMENT EXECUTE FUNCTION reject_rewrite();

-- Each purchase's rating as it stands: its last re-rating, else its first earning.
CREATE VIEW ratings AS
SELECT e.transaction_id, e.member_id, e.mcc, e.spend_cny, e.earned_at, e.expires_on,
       coalesce(x.revision, 0) AS revision,
       coalesce(x.points, e.points) AS points,
       coalesce(x.base_points, e.base_points) AS base_points,
       coalesce(x.bonus_points, e.bonus_points) AS bonus_points,
       coalesce(x.multiplier, e.multiplier) AS multiplier,
       coalesce(x.tier, e.tier) AS tier,
       coalesce(x.rule_ids, e.rule_ids) AS rule_ids,
       coalesce(x.caps_applied, e.caps_applied) AS caps_applied,
       coalesce(x.reversed_adjustment, 0) AS reversed_adjustment
FROM earnings e
LEFT JOIN LATERAL (SELECT * FROM reratings r WHERE r.transaction_id = e.transaction_id
                   ORDER BY r.revision DESC LIMIT 1) x ON true;
