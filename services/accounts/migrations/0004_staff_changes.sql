-- Maker-checker (api.py, handlers/staff_changes.py): a staff change above the configured
-- size is proposed by one staff member and applied only when another, with the approver
-- role, approves it. Both identities are kept here and on the override it made.
ALTER TABLE tier_overrides ADD COLUMN approved_by text;

CREATE TABLE staff_changes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('tier_override')),
    member_id   text NOT NULL,
    request     jsonb NOT NULL,          -- what was proposed, as the staff member sent it
    proposed_by text NOT NULL,
    proposed_at timestamptz NOT NULL DEFAULT now(),
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by  text,
    decided_at  timestamptz,
    override_id bigint REFERENCES tier_overrides (id),
    -- Four eyes: nobody decides their own proposal.
    CHECK (decided_by IS DISTINCT FROM proposed_by),
    CHECK ((status = 'pending') = (decided_by IS NULL))
);
CREATE INDEX staff_changes_pending ON staff_changes (id) WHERE status = 'pending';
