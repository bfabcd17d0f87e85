-- Care days (domain/care_days.py). The day each member enrolled, from member.enrolled, in
-- Asia/Shanghai (not personal data), for the membership anniversary; anniversary_mmdd
-- (month * 100 + day) is the anniversary job's index as contacts.birthday_mmdd is the
-- birthday job's. Deleted when the member closes.
CREATE TABLE memberships (
    member_id        text PRIMARY KEY,
    enrolled_on      date NOT NULL,
    anniversary_mmdd smallint NOT NULL CHECK (anniversary_mmdd BETWEEN 101 AND 1231)
);
CREATE INDEX memberships_anniversary ON memberships (anniversary_mmdd);

-- A festival's pass over the members on its day: a later run that day looks only at contacts
-- changed since the last pass began (scanned_from, the database's clock as updated_at), so
-- the Double Ninth opens the birth dates of members with marketing consent once, not at
-- every run, and a consent given later that day is still greeted.
CREATE TABLE care_days_done (
    occasion     text NOT NULL,
    day          date NOT NULL,
    scanned_from timestamptz NOT NULL,
    PRIMARY KEY (occasion, day)
);
CREATE INDEX contacts_changed ON contacts (updated_at) WHERE marketing_consent;
