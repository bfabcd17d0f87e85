-- Family name, gender and birth date sealed at rest too (personal.py): personal_sealed holds
-- the three as JSON, sealed in runtime.personal_data's layout (the key id in each ciphertext)
-- with "<member id>:personal" as associated data. The birthday job finds members by
-- birthday_mmdd (month * 100 + day: never the year). New writes leave the plaintext columns
-- NULL; rows written before keep them until the service seals them when it starts, before
-- its consumers and jobs (reseal.seal_plaintext; `python -m services.notifications.reseal`
-- does it too).
ALTER TABLE contacts
    ADD COLUMN personal_sealed bytea,
    ADD COLUMN birthday_mmdd smallint CHECK (birthday_mmdd BETWEEN 101 AND 1231),
    ALTER COLUMN family_name DROP NOT NULL,
    ALTER COLUMN gender DROP NOT NULL,
    ALTER COLUMN birth_date DROP NOT NULL;
UPDATE contacts
    SET birthday_mmdd = extract(month FROM birth_date) * 100 + extract(day FROM birth_date);
ALTER TABLE contacts
    ALTER COLUMN birthday_mmdd SET NOT NULL,
    ADD CONSTRAINT contacts_personal_data CHECK (
        personal_sealed IS NOT NULL
        OR (family_name IS NOT NULL AND gender IS NOT NULL AND birth_date IS NOT NULL));

DROP INDEX contacts_birthday;
CREATE INDEX contacts_birthday ON contacts (birthday_mmdd) WHERE marketing_consent;
-- The rows still to seal: none once sealed, so the index stays empty.
CREATE INDEX contacts_plaintext ON contacts (member_id) WHERE family_name IS NOT NULL;
