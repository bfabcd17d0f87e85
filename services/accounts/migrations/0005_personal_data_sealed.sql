-- Names, gender and birth date sealed at rest too (personal.py): personal_enc holds the
-- four as JSON, sealed in runtime.personal_data's layout (the key id in each ciphertext)
-- with "<member id>:personal" as associated data. New writes leave the plaintext columns
-- NULL; rows written before keep them until `python -m services.accounts.reseal` (run for
-- them at every start too) seals them. An active member has its personal data in one of
-- the two forms; a closed one in neither.
ALTER TABLE members ADD COLUMN personal_enc bytea;
ALTER TABLE members DROP CONSTRAINT members_check;
ALTER TABLE members ADD CONSTRAINT members_personal_data CHECK (
    (status = 'active'
        AND (personal_enc IS NOT NULL OR (family_name IS NOT NULL AND given_name IS NOT NULL
                                          AND gender IS NOT NULL AND birth_date IS NOT NULL))
        AND preferred_language IS NOT NULL AND mobile_enc IS NOT NULL
        AND mobile_hash IS NOT NULL AND service_messages IS NOT NULL AND marketing IS NOT NULL)
    OR (status = 'closed' AND personal_enc IS NULL AND family_name IS NULL
        AND given_name IS NULL AND gender IS NULL AND birth_date IS NULL
        AND mobile_enc IS NULL AND mobile_hash IS NULL
        AND openid_enc IS NULL AND openid_hash IS NULL));
-- The rows still to seal: none once resealed, so the index stays empty.
CREATE INDEX members_plaintext ON members (member_id) WHERE family_name IS NOT NULL;
