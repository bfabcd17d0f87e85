-- The partner request rate, shared by every instance: a token bucket per partner (the
-- tokens left at `stamp`; it refills at the partner's rate up to one second's worth;
-- instances take tokens a few at a time, `granted` the last take: auth.py).
-- UNLOGGED: a bucket lost in a crash costs nothing, and an update of it writes no WAL, so
-- its short transaction waits for no flush. And who used a code: a code used at another
-- partner answers like one that never existed.
CREATE UNLOGGED TABLE partner_rates (
    partner_id text PRIMARY KEY,
    tokens     double precision NOT NULL,
    stamp      timestamptz NOT NULL,
    granted    integer NOT NULL
);

ALTER TABLE codes ADD COLUMN used_by text;  -- the partner; NULL before this migration
