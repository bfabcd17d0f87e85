-- A member who replied a stop keyword to an SMS or unfollowed the WeChat Official Account
-- (notification.opt-out-received, handlers/opt_outs.py) has the marketing consent
-- withdrawn. marketing_withdrawn_at is when: from then on a core-banking profile still
-- carrying the consent given before does not bring it back (domain/members.py).
ALTER TABLE members ADD COLUMN marketing_withdrawn_at timestamptz;
-- How a consent change came: null for the core-banking customer file, else the way the
-- member withdrew it ('sms_reply', 'wechat_unsubscribe'); source and event_id name the event.
ALTER TABLE consent_changes ADD COLUMN via text;
