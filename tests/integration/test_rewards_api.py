"""The rewards partner API on the real broker and database: signatures, scopes, partner
isolation, idempotency, allowances under concurrency, codes, and the members projection."""

from __future__ import annotations

import asyncio
import json
import os
import time
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contracts.accounts.v1 import MemberClosed, MemberTierChanged
from contracts.envelope import encode
from contracts.topics import MEMBERS_V1, REWARDS_V1
from runtime.relay import wait_until_drained
from services.rewards.app import build
from services.rewards.partners import create_partner, reseal, rotate
from tests.integration.fresh import customers, fresh_service
from tests.integration.kafka_tools import eventually, produce, read_topic
from tests.tokens import member_headers
from tools.partner_client import PartnerClient

pytestmark = pytest.mark.integration
LOUNGE = "PEK-T3-01"
DISCOUNT_OFFER = "off_coffee_02_2"   # Manner 饮品8折券: no points, 4 per month, every tier


@asynccontextmanager
async def started_rewards(monkeypatch, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    async with fresh_service(build, "rewards") as service:
        service.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=service.http),
                                           base_url="http://rewards", timeout=30)
        try:
            yield service
        finally:
            await service.client.aclose()


@pytest.fixture
async def rewards(infra, monkeypatch):
    async with started_rewards(monkeypatch) as service:
        yield service


async def new_partner(service, *, name="龙腾出行", scopes=("lounge", "offers"),
                      lounges=("*",), offers=("*",), rate=1000) -> PartnerClient:
    async with service.pool.acquire() as conn:
        _, key_id, secret = await create_partner(
            conn, service.settings.sealer(), name=name, scopes=list(scopes),
            lounges=list(lounges), offers=list(offers), rate=rate)
    return PartnerClient(service.client, key_id, secret)


async def code_for(service, member: str) -> str:
    response = await service.client.post(f"/v1/app/members/{member}/redemption-codes",
                                         headers=member_headers(member))
    assert response.status_code == 201, response.text
    return response.json()["code"]


async def set_tier(service, member: str, tier: str) -> None:
    await service.pool.execute(
        "INSERT INTO members (member_id, tier, changed_at) VALUES ($1, $2, now())"
        " ON CONFLICT (member_id) DO UPDATE SET tier = $2", member, tier)


async def test_unsigned_stale_replayed_and_out_of_scope_requests_are_refused(rewards):
    partner = await new_partner(rewards, scopes=("lounge",), lounges=("PEK-*",))
    member = customers(1)[0]
    await set_tier(rewards, member, "gold")
    body = {"code": await code_for(rewards, member), "lounge_id": LOUNGE}
    path = "/v1/redemptions/lounge-visits"

    def codes(response: httpx.Response) -> tuple[int, str]:
        return response.status_code, response.json()["code"]

    # A bad signature: signed with another secret.
    forged = PartnerClient(rewards.client, partner.key_id, "sk_not_the_secret")
    assert codes(await forged.request("POST", path, json=body)) == (401, "invalid_signature")
    # The body changed after signing.
    headers = partner.signed_headers("POST", path, "", json.dumps(body).encode())
    tampered = await rewards.client.post(path, json={**body, "guests": 1},
                                         headers={**headers, "Idempotency-Key": "k1"})
    assert codes(tampered) == (401, "invalid_signature")
    # No signature at all; an unknown key.
    assert codes(await rewards.client.post(path, json=body)) == (401, "invalid_signature")
    unknown = PartnerClient(rewards.client, "pk_0000000000000000", "sk_whatever")
    assert codes(await unknown.request("POST", path, json=body)) == (401, "invalid_signature")
    # A stale timestamp, either way.
    for skew in (-301, 301):
        stale = await partner.request("POST", path, json=body, timestamp=int(time.time()) + skew)
        assert codes(stale) == (401, "stale_timestamp")
    # A reused nonce: the first use passes, the replay (freshly signed, same nonce) does not.
    nonce = "nonce-reused-0123456789"
    first = await partner.request("GET", "/v1/redemptions", nonce=nonce)
    assert first.status_code == 200, first.text
    replay = await partner.request("GET", "/v1/redemptions", nonce=nonce)
    assert codes(replay) == (401, "nonce_reused")
    # A wrong scope, and a lounge outside the partner's own.
    offer = await partner.redeem_offer(body["code"], DISCOUNT_OFFER)
    assert codes(offer) == (403, "scope_denied")
    elsewhere = await partner.redeem_lounge(body["code"], "PVG-T1-01")
    assert codes(elsewhere) == (403, "scope_denied")
    # None of that used the code: it still redeems.
    ok = await partner.redeem_lounge(body["code"], LOUNGE)
    assert ok.status_code == 201, ok.text
    assert ok.headers["Location"] == f"/v1/redemptions/{ok.json()['id']}"
    # A POST without an Idempotency-Key is refused.
    missing = await partner.redeem_lounge(body["code"], LOUNGE, idempotency_key=None)
    assert codes(missing) == (400, "idempotency_key_missing")


async def test_a_rotated_key_and_the_previous_one_both_sign_until_a_third(rewards,
                                                                         monkeypatch):
    monkeypatch.setattr("services.rewards.auth.KEY_CACHE_SECONDS", 0.0)  # see revocations now
    first = await new_partner(rewards)
    async with rewards.pool.acquire() as conn:
        partner_id = await conn.fetchval("SELECT partner_id FROM partner_keys WHERE key_id = $1",
                                         first.key_id)
        second_id, second_secret, revoked = await rotate(
            conn, rewards.settings.sealer(), partner_id)
        assert revoked == []
    second = PartnerClient(rewards.client, second_id, second_secret)
    for client in (first, second):
        assert (await client.request("GET", "/v1/redemptions")).status_code == 200
    async with rewards.pool.acquire() as conn:
        _, _, revoked = await rotate(conn, rewards.settings.sealer(), partner_id)
    assert revoked == [first.key_id]
    assert (await second.request("GET", "/v1/redemptions")).status_code == 200
    assert (await first.request("GET", "/v1/redemptions")).status_code == 401


async def test_secrets_sealed_before_the_runtimes_layout_are_resealed_once(rewards,
                                                                          monkeypatch):
    monkeypatch.setattr("services.rewards.auth.KEY_CACHE_SECONDS", 0.0)
    partner = await new_partner(rewards)
    key = rewards.settings.partner_key()
    nonce = os.urandom(12)  # the layout of before: nonce || AES-GCM(secret, key id as data)
    legacy = nonce + AESGCM(key).encrypt(nonce, partner.secret, partner.key_id.encode())
    await rewards.pool.execute("UPDATE partner_keys SET secret_enc = $2 WHERE key_id = $1",
                               partner.key_id, legacy)
    assert (await partner.request("GET", "/v1/redemptions")).status_code == 401
    async with rewards.pool.acquire() as conn:
        assert await reseal(conn, key) == [partner.key_id]
        assert await reseal(conn, key) == []  # once
    await asyncio.sleep(1.1)  # a key that did not open is remembered as missing for 1 s
    assert (await partner.request("GET", "/v1/redemptions")).status_code == 200


async def test_partners_see_only_their_own_redemptions(rewards):
    a = await new_partner(rewards, name="A")
    b = await new_partner(rewards, name="B")
    member = customers(1)[0]
    await set_tier(rewards, member, "gold")
    created = await a.redeem_lounge(await code_for(rewards, member), LOUNGE)
    assert created.status_code == 201, created.text
    redemption_id = created.json()["id"]
    assert "member" not in created.text and member not in created.text  # no customer id

    assert (await b.get(redemption_id)).status_code == 404
    assert (await b.get(redemption_id)).json()["code"] == "not_found"
    assert (await b.cancel(redemption_id)).status_code == 404
    assert (await b.request("GET", "/v1/redemptions")).json()["items"] == []
    mine = (await a.request("GET", "/v1/redemptions")).json()["items"]
    assert [r["id"] for r in mine] == [redemption_id]
    assert (await a.get(redemption_id)).json()["status"] == "confirmed"


async def test_one_idempotency_key_fifty_times_at_once_makes_one_redemption(rewards):
    partner = await new_partner(rewards)
    member = customers(1)[0]
    await set_tier(rewards, member, "oto_fortune")
    code = await code_for(rewards, member)
    responses = await asyncio.gather(*(
        partner.redeem_lounge(code, LOUNGE, guests=1, idempotency_key="same-key-1")
        for _ in range(50)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1  # byte for byte the same answer
    assert await rewards.pool.fetchval("SELECT count(*) FROM redemptions") == 1
    assert await rewards.pool.fetchval("SELECT used FROM usage WHERE member_id = $1",
                                       member) == 2
    # The same key with another body is refused, whatever the body.
    other = await partner.redeem_lounge(code, LOUNGE, guests=0, idempotency_key="same-key-1")
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    # A refusal is a first answer too: replayed, not re-decided.
    refused = [await partner.redeem_lounge(code, LOUNGE, idempotency_key="same-key-2")
               for _ in range(2)]
    assert [r.json()["code"] for r in refused] == ["code_used", "code_used"]


async def test_concurrent_visits_never_exceed_the_allowance(rewards):
    partner = await new_partner(rewards)
    member = customers(1)[0]
    await set_tier(rewards, member, "gold")  # two visits a year
    codes = [await code_for(rewards, member) for _ in range(10)]
    responses = await asyncio.gather(*(partner.redeem_lounge(c, LOUNGE) for c in codes))
    outcomes = sorted(r.json().get("code", str(r.status_code)) for r in responses)
    assert outcomes == ["201"] * 2 + ["allowance_used_up"] * 8
    assert await rewards.pool.fetchval(
        "SELECT count(*) FROM redemptions WHERE member_id = $1", member) == 2

    # The app sees it; a cancelled visit gives its visit back.
    entitlements = await rewards.client.get(f"/v1/app/members/{member}/entitlements",
                                            headers=member_headers(member))
    assert entitlements.json()["lounge"] | {"year": 0} == {
        "year": 0, "allowance": 2, "used": 2, "remaining": 0, "points_per_person_beyond": 3000}
    confirmed = next(r for r in responses if r.status_code == 201).json()["id"]
    cancelled = await partner.cancel(confirmed)
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    again = await partner.cancel(confirmed)
    assert (again.status_code, again.json()["code"]) == (409, "not_cancellable")
    assert await rewards.pool.fetchval("SELECT used FROM usage WHERE member_id = $1",
                                       member) == 1

    # Events: two visits confirmed at once, one cancelled with nothing to refund.
    await wait_until_drained(rewards.pool)
    records = await read_topic(rewards.settings.kafka_bootstrap_servers,
                               rewards.topic(REWARDS_V1), keep=lambda r: r.key == member.encode(),
                               until=lambda kept: len(kept) >= 3, settle=0.5)
    types = sorted(dict(r.headers)["ce_type"].decode() for r in records)
    assert types == ["redemption.cancelled", "redemption.confirmed", "redemption.confirmed"]
    cancel_event = next(json.loads(r.value) for r in records
                        if dict(r.headers)["ce_type"] == b"redemption.cancelled")
    assert cancel_event["points_to_refund"] == 0


async def test_used_expired_and_unknown_codes_are_refused(rewards):
    partner = await new_partner(rewards)
    member = customers(1)[0]
    used = await code_for(rewards, member)
    assert (await partner.redeem_offer(used, DISCOUNT_OFFER)).status_code == 201
    expired = await code_for(rewards, member)
    await rewards.pool.execute("UPDATE codes SET expires_at = now() - interval '1 second'"
                               " WHERE used_at IS NULL")
    for code, expected in ((used, "code_used"), (expired, "code_expired"),
                           ("ZZZZZ-ZZZZZ", "code_invalid"), ("not-a-code", "code_invalid")):
        response = await partner.redeem_offer(code, DISCOUNT_OFFER)
        assert (response.status_code, response.json()["code"]) == (422, expected), code
    # Offers: unknown, not for the tier, limit per period.
    fresh = await code_for(rewards, member)
    unknown = await partner.redeem_offer(fresh, "off_nothing")
    assert unknown.json()["code"] == "unknown_offer"
    gold_only = "off_dining_01_1"  # 15,000 points: Gold and above
    assert (await partner.redeem_offer(fresh, gold_only)).json()["code"] == "not_eligible"
    for _ in range(3):  # 4 a month; one used above
        assert (await partner.redeem_offer(await code_for(rewards, member),
                                           DISCOUNT_OFFER)).status_code == 201
    over = await partner.redeem_offer(await code_for(rewards, member), DISCOUNT_OFFER)
    assert (over.status_code, over.json()["code"]) == (422, "limit_reached")
    # The app's route needs its token.
    anonymous = await rewards.client.post(f"/v1/app/members/{member}/redemption-codes")
    assert anonymous.status_code == 401


async def test_tiers_and_closures_arrive_from_the_members_topic(rewards):
    partner = await new_partner(rewards)
    gold, closed = customers(2)
    at = datetime.now(UTC)
    await produce(rewards.settings.kafka_bootstrap_servers, rewards.topic(MEMBERS_V1), [
        encode(MemberTierChanged(member_id=gold, old_tier="standard", new_tier="gold",
                                 reason="assets_qualified", effective_date=at.date(),
                                 changed_at=at), source="urn:test:accounts"),
        encode(MemberClosed(member_id=closed, closed_at=at), source="urn:test:accounts"),
    ])

    async def projected() -> bool:
        return await rewards.pool.fetchval("SELECT count(*) FROM members") == 2
    await eventually(projected, timeout=20, what="members projected")

    visit = await partner.redeem_lounge(await code_for(rewards, gold), LOUNGE)
    assert visit.status_code == 201, visit.text
    # A Standard member (no allowance) must consent to pay; a closed one gets no code.
    standard = customers(1)[0]
    refused = await partner.redeem_lounge(await code_for(rewards, standard), LOUNGE)
    assert refused.json()["code"] == "allowance_used_up"
    no_code = await rewards.client.post(f"/v1/app/members/{closed}/redemption-codes",
                                        headers=member_headers(closed))
    assert (no_code.status_code, no_code.json()["code"]) == (422, "member_closed")
