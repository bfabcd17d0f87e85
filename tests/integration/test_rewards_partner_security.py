"""What one partner can learn or spend on the real database: nothing of other partners'
redemptions, a request rate shared by every instance that a refused request does not use
up (nor its nonce), and a revoked key refused at once on every instance; and the OpenAPI
document declares the signature on every partner route."""

from __future__ import annotations

import asyncio
import time

import pytest

from services.rewards.auth import KEY_CACHE_SECONDS, LEASE_SECONDS, PartnerAuth
from services.rewards.domain.errors import Refused
from services.rewards.sql import partners as partners_sql
from tests.integration.fresh import customers
from tests.integration.test_rewards_api import (
    DISCOUNT_OFFER,
    LOUNGE,
    code_for,
    new_partner,
    set_tier,
    started_rewards,
)
from tools.partner_client import PartnerClient

pytestmark = pytest.mark.integration
LIST = "/v1/redemptions"


@pytest.fixture
async def rewards(infra, monkeypatch):
    async with started_rewards(monkeypatch) as service:
        yield service


def answer(response) -> tuple[int, str | None]:
    return response.status_code, (response.json().get("code")
                                  if response.status_code >= 400 else None)


async def test_a_code_used_at_another_partner_answers_as_one_that_never_existed(rewards):
    a = await new_partner(rewards, name="A")
    b = await new_partner(rewards, name="B")
    member = customers(1)[0]
    await set_tier(rewards, member, "gold")
    code = await code_for(rewards, member)
    assert (await a.redeem_offer(code, DISCOUNT_OFFER)).status_code == 201
    never = "ZZZZZ-ZZZZZ"
    for kind, redeem in (("offer", lambda c: b.redeem_offer(c, DISCOUNT_OFFER)),
                         ("lounge", lambda c: b.redeem_lounge(c, LOUNGE))):
        used_elsewhere, unknown = await redeem(code), await redeem(never)
        assert used_elsewhere.status_code == unknown.status_code == 422, kind
        assert used_elsewhere.json() == unknown.json(), kind
        assert unknown.json()["code"] == "code_invalid"
    # At the partner that used it, it is simply used.
    assert answer(await a.redeem_offer(code, DISCOUNT_OFFER)) == (422, "code_used")


async def test_a_rate_limited_request_leaves_its_nonce_unused(rewards):
    partner = await new_partner(rewards, rate=1)
    member = customers(1)[0]
    await set_tier(rewards, member, "private_banking")
    code = await code_for(rewards, member)
    assert (await partner.request("GET", LIST)).status_code == 200  # the one token
    post_nonce, get_nonce = "rate-limited-post-0001", "rate-limited-get-00001"
    limited = await partner.redeem_lounge(code, LOUNGE, nonce=post_nonce,
                                          idempotency_key="k-limited")
    assert answer(limited) == (429, "rate_limited")
    assert answer(await partner.request("GET", LIST, nonce=get_nonce)) == (
        429, "rate_limited")
    assert await rewards.pool.fetchval(
        "SELECT count(*) FROM nonces WHERE nonce = ANY($1::text[])",
        [post_nonce, get_nonce]) == 0
    await asyncio.sleep(1.05)  # a token again: the same requests, re-sent, pass
    sent = await partner.redeem_lounge(code, LOUNGE, nonce=post_nonce,
                                       idempotency_key="k-limited")
    assert sent.status_code == 201, sent.text
    await asyncio.sleep(1.05)
    assert (await partner.request("GET", LIST, nonce=get_nonce)).status_code == 200
    # A replayed nonce is refused for the nonce, and gives its token back.
    await asyncio.sleep(1.05)
    assert answer(await partner.request("GET", LIST, nonce=get_nonce)) == (
        401, "nonce_reused")
    assert (await partner.request("GET", LIST)).status_code == 200


async def _admitted(auth: PartnerAuth, client: PartnerClient) -> bool:
    """One signed GET through `auth` as an instance checks it: True if let through."""
    ts = str(int(time.time()))
    headers = client.signed_headers("GET", LIST, "", b"", timestamp=int(ts))
    caller = await auth.verified(client.key_id, ts, headers["X-Nonce"],
                                 headers["X-Signature"], "GET", LIST, "", b"")
    try:
        await auth.admit(caller)
    except Refused as exc:
        if exc.code != "rate_limited":
            raise
        return False
    return True


@pytest.mark.parametrize("rate", [5, 200])  # a lease of 1 token, and of 10
async def test_the_rate_limit_holds_across_instances(rewards, rate):
    partner = await new_partner(rewards, rate=rate)
    sealer, tolerance = rewards.settings.sealer(), 300
    instances = [PartnerAuth(rewards.pool, sealer, tolerance) for _ in range(2)]
    # Four seconds' worth spread over both at once: one second's worth passes, not one per
    # instance (the bucket refills meanwhile: allow that and one more).
    started = time.monotonic()
    admitted = await asyncio.gather(*(_admitted(instances[i % 2], partner)
                                      for i in range(4 * rate)))
    elapsed = time.monotonic() - started
    assert rate <= sum(admitted) <= rate + int(elapsed * rate) + 1, (sum(admitted), elapsed)
    assert any(admitted[0::2]) and any(admitted[1::2]) or elapsed < 0.2


async def test_a_revoked_key_is_refused_within_a_lease_on_every_instance(rewards):
    partner = await new_partner(rewards)
    member = customers(1)[0]
    await set_tier(rewards, member, "private_banking")
    sealer = rewards.settings.sealer()
    instances = [PartnerAuth(rewards.pool, sealer, 300) for _ in range(2)]
    for auth in instances:  # each has the key cached and a lease of tokens
        assert await _admitted(auth, partner)
    assert LEASE_SECONDS < KEY_CACHE_SECONDS  # the bound is the lease's, not the cache's
    assert (await partner.redeem_lounge(await code_for(rewards, member), LOUNGE)
            ).status_code == 201  # and the service's own instance too
    assert await partners_sql.revoke_key(rewards.pool, partner.key_id)
    await asyncio.sleep(LEASE_SECONDS + 0.05)  # the documented bound (auth.py)
    for auth in instances:
        with pytest.raises(Refused) as refused:
            await _admitted(auth, partner)
        assert (refused.value.code, refused.value.status) == ("invalid_signature", 401)
    code = await code_for(rewards, member)
    assert answer(await partner.redeem_lounge(code, LOUNGE)) == (401, "invalid_signature")
    assert answer(await partner.request("GET", LIST)) == (401, "invalid_signature")
    assert await rewards.pool.fetchval("SELECT count(*) FROM redemptions") == 1
    # The refused request did not use the code.
    other = await new_partner(rewards, name="other")
    assert (await other.redeem_lounge(code, LOUNGE)).status_code == 201


async def test_every_partner_route_declares_the_signature_scheme_and_headers(rewards):
    document = rewards.http.openapi()
    scheme = document["components"]["securitySchemes"]["partnerSignature"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-Signature")
    assert "docs/partner-signing.md" in scheme["description"]
    partner_routes = [(path, method, op) for path, methods in document["paths"].items()
                      for method, op in methods.items() if "partners" in op.get("tags", ())]
    assert len(partner_routes) == 7  # five of redemptions, two of the catalogue
    for path, method, op in partner_routes:
        assert op["security"] == [{"partnerSignature": []}], (method, path)
        headers = {p["name"]: p for p in op["parameters"] if p["in"] == "header"}
        for name in ("X-Key-Id", "X-Timestamp", "X-Nonce"):
            assert headers[name]["required"] is True, (method, path, name)
        assert ("Idempotency-Key" in headers) == (method == "post"), (method, path)
