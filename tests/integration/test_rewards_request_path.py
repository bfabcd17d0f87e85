"""The partner POSTs' one path on the real database: one signature check, one load, the
rules, one save, whatever the request and whatever the answer; served without FastAPI's
per-request machinery, answering exactly as the routes are documented."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from fastapi import Request

from contracts.envelope import Envelope
from contracts.rewards.v1 import RedemptionConfirmed
from contracts.topics import REWARDS_V1
from services.rewards.auth import PartnerAuth
from services.rewards.domain import codes, signing
from services.rewards.sql import partners as partners_sql
from services.rewards.sql import redemptions as sql
from tests.integration.fresh import customers
from tests.integration.kafka_tools import read_topic
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


@pytest.fixture
async def rewards(infra, monkeypatch):
    async with started_rewards(monkeypatch) as service:
        yield service


@pytest.fixture
def checks(monkeypatch) -> dict[str, int]:
    """How often a signature was checked, and how often FastAPI's dependency ran."""
    counts = {"signatures": 0, "dependency": 0}
    verify, dependency = signing.verify, PartnerAuth.__call__

    def counting_verify(*args):
        counts["signatures"] += 1
        return verify(*args)

    async def counting_dependency(self, request: Request):
        counts["dependency"] += 1
        return await dependency(self, request)
    monkeypatch.setattr(signing, "verify", counting_verify)
    monkeypatch.setattr(PartnerAuth, "__call__", counting_dependency)
    return counts


async def test_a_visit_inside_the_allowance_is_recorded_as_the_api_shows_it(rewards, checks):
    partner = await new_partner(rewards)
    member = customers(1)[0]
    await set_tier(rewards, member, "gold")
    response = await partner.redeem_lounge(await code_for(rewards, member), LOUNGE, guests=1)
    assert response.status_code == 201, response.text
    assert checks == {"signatures": 1, "dependency": 0}  # one check, not FastAPI's
    body = response.json()
    assert response.headers["Location"] == f"/v1/redemptions/{body['id']}"
    assert response.headers["content-type"] == "application/json"
    # The answer is the stored row as the API shows it everywhere.
    assert (await partner.get(body["id"])).json() == body
    assert body | {"id": 0, "created_at": 0, "settled_at": 0, "valid_on": 0} == {
        "id": 0, "kind": "lounge", "item_id": LOUNGE, "title": body["title"], "persons": 2,
        "points": 0, "status": "confirmed", "reason": None, "valid_on": 0,
        "refund_status": None, "created_at": 0, "settled_at": 0, "cancelled_at": None}
    assert await rewards.pool.fetchval(
        "SELECT used FROM usage WHERE member_id = $1 AND item = 'lounge'", member) == 2
    # Its event carries the member the database found from the code: key, subject, data.
    # (Read where the relay put it: the outbox row is gone within milliseconds.)
    [record] = await read_topic(rewards.settings.kafka_bootstrap_servers,
                                rewards.topic(REWARDS_V1), until=lambda kept: len(kept) >= 1)
    assert (record.topic, record.key) == (rewards.topic(REWARDS_V1), member.encode())
    envelope = Envelope.from_headers(record.headers)
    assert (envelope.type, envelope.subject) == ("redemption.confirmed", member)
    event = RedemptionConfirmed.model_validate_json(record.value)
    assert (event.member_id, event.redemption_id, event.persons, event.points) == (
        member, body["id"], 2, 0)
    assert event.title == body["title"] and event.valid_on.isoformat() == body["valid_on"]
    # Gold: two visits a year, both taken; the next is refused on the same path.
    refused = await partner.redeem_lounge(await code_for(rewards, member), LOUNGE)
    assert (refused.status_code, refused.json()["code"]) == (422, "allowance_used_up")
    # Three signed requests, three checks; only the GET went through FastAPI's dependency.
    assert checks == {"signatures": 3, "dependency": 1}


async def test_what_a_refusal_leaves_behind(rewards):
    partner = await new_partner(rewards)
    member, unknown = customers(2)
    await set_tier(rewards, member, "gold")
    code = await code_for(rewards, member)
    ok = await partner.redeem_lounge(code, LOUNGE, idempotency_key="k-1")
    assert ok.status_code == 201, ok.text
    # The same code again: refused with the stable code (stored as the first answer for the
    # key); its nonce is kept, nothing else.
    again = await partner.redeem_lounge(code, LOUNGE, idempotency_key="k-2", nonce="n" * 20)
    assert (again.status_code, again.json()["code"]) == (422, "code_used")
    assert await rewards.pool.fetchval(
        "SELECT count(*) FROM nonces WHERE nonce = $1", "n" * 20) == 1
    assert await rewards.pool.fetchval("SELECT count(*) FROM redemptions") == 1
    # A reused nonce, even with a fresh key and code, is refused.
    replay = await partner.redeem_lounge(await code_for(rewards, member), LOUNGE,
                                         nonce="n" * 20)
    assert (replay.status_code, replay.json()["code"]) == (401, "nonce_reused")
    # A member the accounts service has not told about is Standard: no visits, pay or leave.
    standard = await partner.redeem_lounge(await code_for(rewards, unknown), LOUNGE)
    assert (standard.status_code, standard.json()["code"]) == (422, "allowance_used_up")
    # A replay of the first request is its stored answer, byte for byte; the same key with
    # another body is refused.
    replayed = await partner.redeem_lounge(code, LOUNGE, idempotency_key="k-1")
    assert (replayed.status_code, replayed.content) == (201, ok.content)
    other = await partner.redeem_lounge(code, LOUNGE, guests=1, idempotency_key="k-1")
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert await rewards.pool.fetchval("SELECT count(*) FROM redemptions") == 1
    assert await rewards.pool.fetchval("SELECT used FROM usage WHERE member_id = $1",
                                       member) == 1


async def test_a_load_claims_and_locks_nothing_and_a_save_with_a_reused_nonce_or_key_writes_nothing(
        rewards):
    """The load's and the save's contract (the one-call function of migration 0002 is
    gone): the load only reads; the save records the nonce and claims the key, or, if
    either was taken since the load, writes nothing."""
    member = customers(1)[0]
    code = await code_for(rewards, member)
    live = codes.code_hash(rewards.settings.pepper(), codes.normalise(code))

    def request(nonce: str, key: str) -> sql.Request:
        return sql.Request("ptn_x", "pk_x", f"nonce-{nonce}-0123456789", key, b"h")

    async def load(nonce: str, key: str, code_hash: bytes | None) -> sql.Loaded:
        async with rewards.pool.acquire() as conn:
            return await sql.load_for_redemption(conn, request(nonce, key), code_hash,
                                                 ("lounge", "2026"))

    async def refuse(nonce: str, key: str) -> None:
        async with rewards.pool.acquire() as conn:
            await sql.refuse(conn, request(nonce, key), (422, b"{}", None))

    assert (await load("first", "k1", None)).facts.code == "malformed"
    assert (await load("second", "k2", b"no such code")).facts.code == "unknown"
    assert await rewards.pool.fetchval("SELECT count(*) FROM nonces") == 0
    await refuse("first", "k1")
    await refuse("second", "k2")
    for nonce, key in (("first", "k3"), ("third", "k1")):  # a reused nonce; a taken key
        with pytest.raises(sql.Changed):
            await refuse(nonce, key)
    assert (await load("first", "k3", live)).nonce_used
    held = await load("third", "k1", live)
    assert not held.nonce_used and (held.stored.status_code, held.stored.body) == (422, b"{}")
    assert await rewards.pool.fetchval("SELECT count(*) FROM nonces") == 2
    assert sorted(r["key"] for r in await rewards.pool.fetch(
        "SELECT key FROM idempotency")) == ["k1", "k2"]
    fourth = await load("fourth", "k4", live)
    assert (fourth.nonce_used, fourth.stored, fourth.facts.code) == (False, None, "live")
    assert fourth.facts.member_id == member and fourth.facts.used == 0
    assert await rewards.pool.fetchval("SELECT count(*) FROM usage") == 0  # the save takes
    assert await rewards.pool.fetchval(
        "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE p.proname = 'redeem_lounge_visit' AND n.nspname = $1", rewards.schema) == 0


async def test_the_cached_key_honours_revocation_within_its_ttl(rewards, monkeypatch):
    monkeypatch.setattr("services.rewards.auth.KEY_CACHE_SECONDS", 0.5)
    partner = await new_partner(rewards)
    member = customers(1)[0]
    await set_tier(rewards, member, "private_banking")
    assert (await partner.redeem_lounge(await code_for(rewards, member), LOUNGE)
            ).status_code == 201  # the key is cached now
    assert await partners_sql.revoke_key(rewards.pool, partner.key_id)
    await asyncio.sleep(0.6)
    code = await code_for(rewards, member)
    revoked = await partner.redeem_lounge(code, LOUNGE)
    assert (revoked.status_code, revoked.json()["code"]) == (401, "invalid_signature")
    assert await rewards.pool.fetchval("SELECT count(*) FROM redemptions") == 1


async def test_the_rate_limit_holds_on_the_partner_posts(rewards):
    partner = await new_partner(rewards, rate=2)
    member = customers(1)[0]
    await set_tier(rewards, member, "private_banking")
    codes = [await code_for(rewards, member) for _ in range(3)]
    started = time.monotonic()
    answers = [await partner.redeem_lounge(c, LOUNGE) for c in codes]
    assert time.monotonic() - started < 0.4  # the bucket refills 2 a second
    assert [r.status_code for r in answers] == [201, 201, 429]
    assert answers[2].json()["code"] == "rate_limited"


async def test_a_declined_request_costs_one_token_not_two(rewards):
    partner = await new_partner(rewards, rate=2)
    member = customers(1)[0]
    await set_tier(rewards, member, "private_banking")
    refused = await partner.redeem_lounge("ZZZZZ-ZZZZZ", LOUNGE)  # declined, then refused
    assert refused.json()["code"] == "code_invalid"
    ok = await partner.redeem_lounge(await code_for(rewards, member), LOUNGE)
    assert ok.status_code == 201, ok.text


async def test_an_unsigned_body_change_never_reaches_the_database(rewards):
    partner = await new_partner(rewards)
    member = customers(1)[0]
    await set_tier(rewards, member, "private_banking")
    body = {"code": await code_for(rewards, member), "lounge_id": LOUNGE}
    headers = partner.signed_headers("POST", "/v1/redemptions/lounge-visits", "",
                                     json.dumps(body).encode())
    forged = await rewards.client.post(
        "/v1/redemptions/lounge-visits", content=json.dumps({**body, "guests": 3}),
        headers={**headers, "Idempotency-Key": "f-1", "Content-Type": "application/json"})
    assert (forged.status_code, forged.json()["code"]) == (401, "invalid_signature")
    assert await rewards.pool.fetchval("SELECT count(*) FROM redemptions") == 0


async def test_offers_are_answered_without_fastapi_as_the_route_would(rewards, checks):
    partner = await new_partner(rewards, scopes=("offers",))
    member = customers(1)[0]
    code = await code_for(rewards, member)
    first = await partner.redeem_offer(code, DISCOUNT_OFFER, idempotency_key="o-1")
    assert first.status_code == 201, first.text
    assert first.headers["Location"] == f"/v1/redemptions/{first.json()['id']}"
    replay = await partner.redeem_offer(code, DISCOUNT_OFFER, idempotency_key="o-1")
    assert (replay.status_code, replay.content) == (201, first.content)
    used = await partner.redeem_offer(code, DISCOUNT_OFFER)
    assert (used.status_code, used.json()["code"]) == (422, "code_used")
    nonce = "offer-nonce-0123456789"
    assert (await partner.redeem_offer(await code_for(rewards, member), DISCOUNT_OFFER,
                                       nonce=nonce)).status_code == 201
    reused = await partner.redeem_offer(await code_for(rewards, member), DISCOUNT_OFFER,
                                        nonce=nonce)
    assert (reused.status_code, reused.json()["code"]) == (401, "nonce_reused")
    wrong_scope = await partner.redeem_lounge(await code_for(rewards, member), LOUNGE)
    assert (wrong_scope.status_code, wrong_scope.json()["code"]) == (403, "scope_denied")
    assert checks == {"signatures": 6, "dependency": 0}
    # Not signed right, or malformed: refused as the route always did.
    forged = PartnerClient(rewards.client, partner.key_id, "sk_not_the_secret")
    bad = await forged.redeem_offer(await code_for(rewards, member), DISCOUNT_OFFER)
    assert (bad.status_code, bad.json()["code"]) == (401, "invalid_signature")
    invalid = await partner.request("POST", "/v1/redemptions/offers", json={"code": "x"})
    assert (invalid.status_code, invalid.json()["code"]) == (422, "invalid_request")
    assert checks == {"signatures": 8, "dependency": 0}
