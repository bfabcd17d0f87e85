-- Members who asked for no more marketing (domain/opt_out.py, handlers/opt_outs.py): a
-- stop keyword replied to an SMS, or unfollowing the WeChat Official Account.
--
-- The replying number or openid finds its member by a keyed hash (CONTACT_HASH_KEY) of the
-- E.164 number / openid: nothing personal is kept in the clear. Rows of before this
-- migration get theirs when the service starts (contact_hashes.py).
ALTER TABLE contacts ADD COLUMN mobile_hash bytea, ADD COLUMN openid_hash bytea;
CREATE INDEX contacts_mobile_hash ON contacts (mobile_hash);
CREATE INDEX contacts_openid_hash ON contacts (openid_hash);
CREATE INDEX contacts_unhashed ON contacts (member_id) WHERE mobile_hash IS NULL;

-- One row per stop reply and member (a shared number reaches several), once however often
-- its provider pushes it (reply_id: a keyed digest of the provider's id of the reply, or
-- of number, time and text: never the number).
-- The marketing consent of the contact projection is cleared in the same transaction,
-- and a contact record older than the reply cannot bring it back (sql/contacts.py).
CREATE TABLE opt_outs (
    reply_id    text NOT NULL,
    member_id   text NOT NULL,
    provider    text NOT NULL,
    via         text NOT NULL CHECK (via IN ('sms_reply', 'wechat_unsubscribe')),
    keyword     text,
    received_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (reply_id, member_id)
);
CREATE INDEX opt_outs_member ON opt_outs (member_id, received_at);
