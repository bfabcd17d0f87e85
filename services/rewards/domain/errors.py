"""Refusals with a stable code: what partners program against. The HTTP status is part of
the contract too (401 authentication, 403 scope, 404 not yours or unknown, 409 state,
422 the request cannot be honoured as asked, 429 rate)."""

from __future__ import annotations


class Refused(Exception):
    def __init__(self, code: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


# Codes and their statuses, in one place so the OpenAPI description and tests agree.
CODES: dict[str, int] = {
    "invalid_signature": 401,
    "stale_timestamp": 401,
    "nonce_reused": 401,
    "unknown_key": 401,
    "scope_denied": 403,
    "not_found": 404,
    "idempotency_key_missing": 400,
    "idempotency_key_reused": 422,
    "request_in_progress": 409,
    "rate_limited": 429,
    "code_invalid": 422,
    "code_expired": 422,
    "code_used": 422,
    "unknown_offer": 422,
    "unknown_lounge": 422,
    "not_eligible": 422,
    "member_closed": 422,
    "allowance_used_up": 422,
    "limit_reached": 422,
    "insufficient_points": 422,
    "unknown_member": 422,
    "not_cancellable": 409,
    "timed_out": 422,
    "unknown_charity": 422,
    "donation_out_of_range": 422,
}

#: Why the points service turned a debit down, as the partner reads it.
REJECTIONS = {
    "insufficient_points": "the member does not have enough points",
    "member_closed": "the member's benefits have ended",
    "unknown_member": "the points service does not know the member",
    "timed_out": "the points service did not answer in time",
}


def refuse(code: str, message: str) -> Refused:
    return Refused(code, message, CODES[code])


def rejected(reason: str) -> Refused:
    """The refusal a points-paid redemption ends in when the points service rejects it."""
    return refuse(reason, REJECTIONS.get(reason, reason))
