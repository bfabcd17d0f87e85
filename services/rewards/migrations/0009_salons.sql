-- Member events ("salons", domain/salons.py): staff schedule, change and cancel them
-- (salon_changes is the audit); eligible members are invited once (a salon_guests row each);
-- `accepted` never passes `capacity` (the guarded UPDATE in sql/salons.py, and this CHECK).
CREATE TABLE salons (
    id             text PRIMARY KEY,
    title          text NOT NULL,
    title_en       text,
    category       text NOT NULL,
    city           text NOT NULL,
    venue          text NOT NULL,
    starts_at      timestamptz NOT NULL,
    capacity       integer NOT NULL CHECK (capacity > 0),
    accepted       integer NOT NULL DEFAULT 0 CHECK (accepted >= 0 AND accepted <= capacity),
    eligible_tiers text[] NOT NULL,
    invite_from    timestamptz NOT NULL,
    invite_until   timestamptz NOT NULL,
    rsvp_from      timestamptz NOT NULL,
    rsvp_until     timestamptz NOT NULL,
    status         text NOT NULL CHECK (status IN ('scheduled', 'cancelled')),
    version        integer NOT NULL,
    reminded       boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
-- The jobs: salons whose invitations or reminders are due.
CREATE INDEX salons_open ON salons (starts_at) WHERE status = 'scheduled';

CREATE TABLE salon_changes (
    salon_id  text NOT NULL REFERENCES salons (id),
    version   integer NOT NULL,
    change    text NOT NULL,
    after     jsonb NOT NULL,
    before    jsonb,
    staff_id  text NOT NULL,
    reason    text,
    at        timestamptz NOT NULL,
    PRIMARY KEY (salon_id, version)
);

CREATE SEQUENCE salon_waitlist;
CREATE TABLE salon_guests (
    salon_id      text NOT NULL REFERENCES salons (id),
    member_id     text NOT NULL,
    status        text NOT NULL
                  CHECK (status IN ('invited', 'accepted', 'waitlisted', 'declined')),
    -- The waitlist's order: taken when the member joined it.
    waiting_since bigint,
    check_in_code text UNIQUE,
    checked_in_at timestamptz,
    invited_at    timestamptz NOT NULL,
    changed_at    timestamptz NOT NULL,
    PRIMARY KEY (salon_id, member_id)
);
CREATE INDEX salon_guests_member ON salon_guests (member_id);
CREATE INDEX salon_guests_waiting ON salon_guests (salon_id, waiting_since)
    WHERE status = 'waitlisted';
