-- Balances, lots and monthly bonus rows are rewritten by nearly every batch. Room on each page
-- (fillfactor) and no index on the updated columns let PostgreSQL update them in place (HOT)
-- instead of adding an index entry per update. lots_due indexed `remaining` through its
-- predicate, which ruled HOT out for every lot change; the expiry job filters on it anyway.
ALTER TABLE balances SET (fillfactor = 70);
ALTER TABLE lots SET (fillfactor = 70);
ALTER TABLE monthly_bonus SET (fillfactor = 70);
DROP INDEX lots_due;
CREATE INDEX lots_due ON lots (expires_on);
