-- A lounge visit inside the allowance in ONE database call (the partner API's hot path,
-- 1,000 requests/s): nonce, Idempotency-Key, code, allowance, redemption and outbox event
-- in one statement and one commit, instead of about eleven round trips and two commits.
-- Stored first answers become the exact bytes sent, so a replay is byte-identical without
-- rendering anything again; the consumer settling a points-paid redemption stores its
-- answer too (the waiting request then reads it in one query).

ALTER TABLE idempotency ADD COLUMN body bytea, ADD COLUMN location text;
UPDATE idempotency SET body = convert_to((response -> 'body')::text, 'UTF8'),
                       location = response -> 'headers' ->> 'Location'
WHERE response IS NOT NULL;
ALTER TABLE idempotency DROP COLUMN response;
ALTER TABLE idempotency ADD CHECK ((status_code IS NULL) = (body IS NULL));
-- The consumer that settles a points-paid redemption stores the waiting request's answer.
CREATE INDEX idempotency_unanswered ON idempotency (redemption_id) WHERE status_code IS NULL;

-- All or nothing: it commits a confirmed visit (or finds the stored answer of the same
-- request under the same key), else it raises SQLSTATE RWD01 and everything it did is rolled
-- back, nonce included; the caller then takes the general path (redemptions.py), which makes
-- the refusal or the points-paid decision with the rules in domain/. So this function only
-- has to know the one case it commits: every person of the party fits in what is left of
-- the year's allowance of the member's tier (p_allowances: tier -> visits, null =
-- unlimited), the member known and not closed. Row locks in the general path's order:
-- idempotency key, code, usage.
-- The event is encoded by the caller, which cannot know the member: its member id is
-- spliced in here (Kafka key, ce_subject header, and the value between head and tail).
CREATE FUNCTION redeem_lounge_visit(
    p_key_id text, p_nonce text, p_partner_id text, p_key text, p_request_hash bytea,
    p_code_hash bytea, p_allowances jsonb, p_period text, p_redemption_id text,
    p_lounge_id text, p_title text, p_persons integer, p_valid_on date, p_at timestamptz,
    p_body bytea, p_location text, p_topic text, p_value_head bytea, p_value_tail bytea,
    p_header_names text[], p_header_values bytea[], p_subject_placeholder bytea,
    OUT answer_status integer, OUT answer_body bytea, OUT answer_location text)
LANGUAGE plpgsql AS $$
DECLARE
    v_member    text;
    v_tier      text;
    v_closed    boolean;
    v_allowance integer;
    v_subject   bytea;
BEGIN
    INSERT INTO nonces (key_id, nonce) VALUES (p_key_id, p_nonce) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'nonce already used' USING ERRCODE = 'RWD01';
    END IF;

    -- The answer is stored with the claim: if anything below declines, it goes too. A
    -- concurrent request with the same key waits here until this one commits.
    INSERT INTO idempotency (partner_id, key, request_hash, redemption_id, status_code, body,
                             location)
    VALUES (p_partner_id, p_key, p_request_hash, p_redemption_id, 201, p_body, p_location)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN  -- a replay: the first answer, if it is the same request and has one
        SELECT i.status_code, i.body, i.location
          INTO answer_status, answer_body, answer_location
          FROM idempotency i
         WHERE i.partner_id = p_partner_id AND i.key = p_key
           AND i.request_hash = p_request_hash AND i.status_code IS NOT NULL;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'idempotency key in use or reused' USING ERRCODE = 'RWD01';
        END IF;
        RETURN;
    END IF;

    UPDATE codes SET used_at = clock_timestamp()
     WHERE code_hash = p_code_hash AND used_at IS NULL AND expires_at > clock_timestamp()
    RETURNING member_id INTO v_member;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'code not usable' USING ERRCODE = 'RWD01';
    END IF;

    SELECT m.tier, m.closed INTO v_tier, v_closed FROM members m WHERE m.member_id = v_member;
    IF v_tier IS NULL OR v_closed OR NOT p_allowances ? v_tier THEN
        RAISE EXCEPTION 'member unknown or closed' USING ERRCODE = 'RWD01';
    END IF;
    v_allowance := (p_allowances ->> v_tier)::integer;
    IF v_allowance IS NOT NULL AND p_persons > v_allowance THEN
        RAISE EXCEPTION 'beyond the allowance' USING ERRCODE = 'RWD01';
    END IF;
    INSERT INTO usage AS u (member_id, item, period, used)
    VALUES (v_member, 'lounge', p_period, p_persons)
    ON CONFLICT (member_id, item, period) DO UPDATE SET used = u.used + excluded.used
     WHERE v_allowance IS NULL OR u.used + excluded.used <= v_allowance;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'beyond the allowance' USING ERRCODE = 'RWD01';
    END IF;

    INSERT INTO redemptions (id, partner_id, member_id, kind, item_id, title, persons, points,
                             usage_item, usage_period, usage_taken, status, valid_on,
                             created_at, settled_at)
    VALUES (p_redemption_id, p_partner_id, v_member, 'lounge', p_lounge_id, p_title, p_persons,
            0, 'lounge', p_period, p_persons, 'confirmed', p_valid_on, p_at, p_at);

    v_subject := convert_to(v_member, 'UTF8');
    INSERT INTO outbox (topic, key, value, header_names, header_values)
    VALUES (p_topic, v_subject, p_value_head || v_subject || p_value_tail, p_header_names,
            array_replace(p_header_values, p_subject_placeholder, v_subject));

    answer_status := 201;
    answer_body := p_body;
    answer_location := p_location;
END $$;
