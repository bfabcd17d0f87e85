-- Monthly spending profiles (handlers/spending.py): what a member spent by the catalogue's
-- industries in the days before the month, published as points.spending-profiled for
-- offers that fit. One row per month: the first instance to insert it runs the month; its
-- cursor (the last member published) moves in the transaction that publishes the next
-- chunk, so each member's profile is published once, however many instances run the job.
CREATE TABLE spending_profile_runs (
    month      date PRIMARY KEY CHECK (extract(day FROM month) = 1),
    after      text NOT NULL DEFAULT '',      -- members up to this id are published
    published  integer NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT now(),
    done_at    timestamptz
);

-- Where each purchase was bought (the card transaction's merchant city), on its earning
-- row: the profile names the city a member bought in most over the window. No write of its
-- own on the purchase path; the transactions' other details are not kept.
ALTER TABLE earnings ADD COLUMN city text;
