-- Tier reviews of the yearly cadence (services/accounts/domain/reviews.py): one row per
-- review date, inserted by the first transaction of the job that runs it
-- (handlers/reviews.py). The row is the fact "this review has run" the timelines count
-- from, and its claim: the primary key makes a second instance or a re-run find it, and
-- each batch of members is reviewed under the row's lock, moving `cursor` on in the same
-- transaction as the batch's tier changes.
CREATE TABLE tier_reviews (
    review_date      date PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('assessment', 'adjustment')),
    started_at       timestamptz NOT NULL DEFAULT now(),
    cursor           text NOT NULL DEFAULT '',     -- the last member id reviewed
    members_reviewed integer NOT NULL DEFAULT 0,
    members_moved    integer NOT NULL DEFAULT 0,   -- members whose tier change was announced
    finished_at      timestamptz
);
