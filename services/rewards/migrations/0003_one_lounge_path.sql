-- One path for every lounge visit: the partner API loads and locks the facts in one
-- statement, decides with the rules in domain/ and saves in one statement (handlers/
-- redemptions.py); the one-call function of 0002, a second copy of the allowance rule,
-- goes. Partner secrets are now sealed in the runtime's layout (runtime.personal_data);
-- those sealed before get it from `python -m services.rewards.partners reseal`.
DROP FUNCTION redeem_lounge_visit(
    text, text, text, text, bytea, bytea, jsonb, text, text, text, text, integer, date,
    timestamptz, bytea, text, text, bytea, bytea, text[], bytea[], bytea);
