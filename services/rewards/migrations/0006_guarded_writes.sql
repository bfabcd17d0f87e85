-- A partner POST's save is one statement outside a transaction block, guarded: it writes
-- only if what its decision read is as it was loaded (the key still undecided, the code
-- still live, the usage counter unchanged). `as_loaded` turns a missed guard into an error
-- (SQLSTATE RWG01) so that the whole statement rolls back; the caller loads and decides
-- again (handlers/redemptions.py). It knows no rule: the rules are in domain/.
CREATE FUNCTION as_loaded(ok boolean) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF NOT ok THEN
        RAISE EXCEPTION 'changed since it was loaded' USING ERRCODE = 'RWG01';
    END IF;
    RETURN true;
END $$;
