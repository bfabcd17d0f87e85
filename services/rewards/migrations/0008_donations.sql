-- Giving points (domain/donations.py): a member donates points to a charity partner from the
-- app, a redemption of its own kind through the saga. A charity is configuration
-- (charities.toml), not a row of `partners`: a donation's partner_id is the charity's id,
-- so redemptions no longer reference partners (a partner's redemption is only ever made for
-- the partner whose key signed it). Charity ids take the prefix "chr_", which partner ids
-- may not: a partner never sees a donation among its redemptions.
ALTER TABLE redemptions DROP CONSTRAINT redemptions_partner_id_fkey;
ALTER TABLE redemptions DROP CONSTRAINT redemptions_kind_check;
ALTER TABLE redemptions ADD CONSTRAINT redemptions_kind_check
    CHECK (kind IN ('lounge', 'offer', 'donation'));
ALTER TABLE partners ADD CONSTRAINT partners_not_a_charity CHECK (id NOT LIKE 'chr\_%');

-- The charity's name in English (the title is the Chinese one): the thank-you message is in
-- the member's language.
ALTER TABLE redemptions ADD COLUMN title_en text;

-- A member's donations of a year (their statement).
CREATE INDEX redemptions_donations ON redemptions (member_id, created_at)
    WHERE kind = 'donation';
