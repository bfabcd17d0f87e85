-- Foreign keys on the ledger's hottest tables cost a trigger and an index probe per row: two
-- per entry line. Lines, postings and balances are written together by one module
-- (sql/ledger.py) in one transaction; the invariant check verifies the references instead.
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_posting_id_fkey;
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_account_id_fkey;
ALTER TABLE balances DROP CONSTRAINT balances_member_id_fkey;
