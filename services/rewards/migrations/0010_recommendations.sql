-- Offers that fit (handlers/recommendations.py): one recommendation per member and month,
-- claimed in the transaction that publishes it (or decides there is nothing to offer), so
-- a spending profile re-sent under a new event id recommends nothing twice. `offers`: the
-- ids recommended, best first (empty: none fitted), for support.
CREATE TABLE recommendations (
    member_id      text NOT NULL,
    month          text NOT NULL CHECK (month ~ '^[0-9]{4}-[0-9]{2}$'),
    offers         text[] NOT NULL,
    recommended_at timestamptz NOT NULL,
    PRIMARY KEY (member_id, month)
);
