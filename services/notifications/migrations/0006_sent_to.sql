-- Which number an SMS call went to, as a digest of the contact's sealed mobile at the claim
-- (nothing personal: a digest of ciphertext). A provider lookup searches by number: when the
-- member's number changed since the call, "not found" there proves nothing, and the message
-- is not sent again (handlers/sender.py).
ALTER TABLE messages ADD COLUMN sent_to bytea;
