"""The accounts service's membership on the real Kafka broker and PostgreSQL: customers
onboarded, updated and closed become member events; contact data is encrypted at rest,
travels on its own topic, and is erased on closing.

The helpers here build core-banking events; the other accounts tests import them.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiokafka import ConsumerRecord

from contracts.corebanking.v1 import (
    AssetSnapshotTaken,
    Consents,
    CustomerClosed,
    CustomerOnboarded,
    CustomerUpdated,
)
from contracts.envelope import EncodedEvent, encode
from contracts.topics import CUSTOMERS_V1, MEMBER_CONTACTS_V1, MEMBERS_V1
from runtime.relay import wait_until_drained
from services.accounts.app import build
from tests.integration.fresh import customers, fresh_service
from tests.integration.kafka_tools import eventually, produce, read_topic
from tests.tokens import AsPathMember

pytestmark = pytest.mark.integration
SOURCE = "urn:test:corebanking"
SHANGHAI = ZoneInfo("Asia/Shanghai")
ONBOARDED_AT = datetime(2025, 11, 3, 10, 0, tzinfo=SHANGHAI)


# ---------------------------------------------------------------------- core-banking events

def mobile_of(customer: str) -> str:
    return f"+86139{customer[-8:]}"


def openid_of(customer: str) -> str:
    return "o" + customer[-10:] + "Wx" * 8 + "Q"


def profile(customer: str, **changes) -> dict:
    fields = dict(customer_id=customer, family_name="张", given_name="伟", gender="male",
                  birth_date=date(1988, 6, 1), mobile=mobile_of(customer),
                  wechat_openid=openid_of(customer), preferred_language="zh-CN",
                  consents=Consents(service_messages=True, marketing=True))
    return {**fields, **changes}


def onboarded(customer: str, **changes) -> EncodedEvent:
    return encode(CustomerOnboarded(**profile(customer, **changes), onboarded_at=ONBOARDED_AT),
                  source=SOURCE)


def updated(customer: str, at: datetime, **changes) -> EncodedEvent:
    return encode(CustomerUpdated(**profile(customer, **changes), updated_at=at), source=SOURCE)


def closed(customer: str, at: datetime) -> EncodedEvent:
    return encode(CustomerClosed(customer_id=customer, closed_at=at, reason="客户申请销户"),
                  source=SOURCE)


def snapshot(customer: str, month: str, assets: str) -> EncodedEvent:
    year, number = map(int, month.split("-"))
    taken = datetime(year + number // 12, number % 12 + 1, 1, 2, 10, tzinfo=SHANGHAI)
    return encode(AssetSnapshotTaken(customer_id=customer, month=month,
                                     average_daily_assets=Decimal(assets), currency="CNY",
                                     taken_at=taken), source=SOURCE)


def ce_type(record: ConsumerRecord) -> str:
    return dict(record.headers)["ce_type"].decode()


def data(record: ConsumerRecord) -> dict:
    return json.loads(record.value)


def watch(processor) -> list:
    reports: list = []
    processor.after_commit.append(reports.append)
    return reports


async def consumed(reports: list, n: int) -> bool:
    return sum(r.applied + r.duplicates + r.ignored + r.dead_lettered for r in reports) >= n


# ---------------------------------------------------------------------- tests

@pytest.fixture
async def accounts(infra):
    async with fresh_service(build, "accounts") as service:
        yield service


async def test_customer_lifecycle_becomes_member_events_without_plaintext_contact_data(
        accounts, infra, caplog):
    caplog.set_level(logging.INFO)
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    a, b = members = customers(2)
    reports = watch(accounts.customer_file)
    t1, t2, t3 = (datetime(2025, 12, d, 9, tzinfo=SHANGHAI) for d in (1, 2, 3))
    first_onboarding = onboarded(a)
    await produce(bootstrap, accounts.topic(CUSTOMERS_V1), [
        first_onboarding,
        updated(a, t1, mobile="+8613812341234", consents=Consents(service_messages=True,
                                                                   marketing=False)),
        updated(a, t2, mobile="+8613812341234", consents=Consents(service_messages=True,
                                                                   marketing=False),
                preferred_language="en-US"),
        updated(a, t2, mobile="+8613812341234", consents=Consents(service_messages=True,
                                                                   marketing=False),
                preferred_language="en-US"),          # nothing changed: no event
        updated(a, t1, mobile="+8613900000000"),   # older than the profile applied: ignored
        first_onboarding,                          # redelivered: the inbox drops it
        updated(b, t1, wechat_openid=None),        # unknown customer: enrolled from an update
    ])
    await eventually(lambda: consumed(reports, 7), what="customer events consumed")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=accounts.http),
                                 base_url="http://accounts", auth=AsPathMember()) as http:
        profile_a = (await http.get(f"/members/{a}")).json()
        assert profile_a["mobile_masked"] == "138****1234"
        assert profile_a["preferred_language"] == "en-US"
        assert profile_a["consents"] == {"service_messages": True, "marketing": False}
        assert profile_a["wechat_bound"] is True
        assert profile_a["wechat_openid_masked"] == openid_of(a)[:4] + "****" + openid_of(a)[-4:]
        assert "+86" not in json.dumps(profile_a)
        assert (await http.get(f"/members/{b}")).json()["wechat_bound"] is False
        assert (await http.get("/members/C0000000000")).status_code == 404

    await produce(bootstrap, accounts.topic(CUSTOMERS_V1), [
        closed(a, t3), updated(a, datetime(2025, 12, 4, tzinfo=SHANGHAI))])  # too late
    await eventually(lambda: consumed(reports, 9), what="closing consumed")
    await wait_until_drained(accounts.pool)

    lifecycle = await read_topic(bootstrap, accounts.topic(MEMBERS_V1),
                                 keep=lambda r: r.key.decode() in members,
                                 until=lambda kept: len(kept) >= 4, settle=1.5)
    by_member = {m: [ce_type(r) for r in lifecycle if r.key.decode() == m] for m in members}
    assert by_member == {a: ["member.enrolled", "member.updated", "member.closed"],
                         b: ["member.enrolled"]}
    assert all(data(r)["tier"] == "standard" for r in lifecycle
               if ce_type(r) == "member.enrolled")
    for record in lifecycle:  # other services get ids and tiers, never contact data
        assert "mobile" not in data(record) and "wechat_openid" not in data(record)

    records = await read_topic(bootstrap, accounts.topic(MEMBER_CONTACTS_V1),
                               keep=lambda r: r.key.decode() == a,
                               until=lambda kept: len(kept) >= 5, settle=1.5)
    contacts = [r for r in records if r.value is not None]
    assert records[-1].value is None  # the erasure's tombstone: compaction drops the rest
    assert [ce_type(r) for r in contacts] == [
        "member.contact-changed", "member.contact-changed", "member.contact-changed",
        "member.contact-erased"]
    assert [data(r).get("mobile") for r in contacts[:3]] == [
        mobile_of(a), "+8613812341234", "+8613812341234"]
    assert data(contacts[2])["preferred_language"] == "en-US"

    async with accounts.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM members WHERE member_id = $1", a)
        assert row["status"] == "closed" and row["closed_at"] == t3
        assert row["mobile_enc"] is None and row["openid_enc"] is None
        assert row["family_name"] is None
        consents = await conn.fetch(
            "SELECT consent, granted, changed_at, source FROM consent_changes"
            " WHERE member_id = $1 ORDER BY id", a)
        assert [(c["consent"], c["granted"], c["changed_at"]) for c in consents] == [
            ("service_messages", True, ONBOARDED_AT), ("marketing", True, ONBOARDED_AT),
            ("marketing", False, t1)]
        assert {c["source"] for c in consents} == {SOURCE}
        everything = await _every_row_as_text(conn, accounts.schema)
    assert await accounts.pool.fetchval(
        "SELECT mobile_enc IS NOT NULL AND mobile_hash IS NOT NULL FROM members"
        " WHERE member_id = $1", b)
    for secret in (mobile_of(a), mobile_of(b), "13812341234", mobile_of(b)[3:],
                   openid_of(a)):
        assert secret not in everything
        assert not any(secret in r.getMessage() for r in caplog.records)


async def _every_row_as_text(conn, schema: str) -> str:
    tables = await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema)
    texts = []
    for table in tables:
        rows = await conn.fetch(f'SELECT t::text FROM "{table[0]}" t')
        texts += [r[0] for r in rows]
    return "\n".join(texts)


async def test_bad_customer_events_are_dead_lettered_and_the_batch_goes_on(accounts, infra):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    (a,) = customers(1)
    reports = watch(accounts.customer_file)
    good = onboarded(a)
    bad = EncodedEvent(topic=good.topic, key=good.key,
                       value=good.value.replace(mobile_of(a).encode(), b"12345"),
                       headers=[(k, v if k != "ce_id" else b"bad-1") for k, v in good.headers])
    await produce(bootstrap, accounts.topic(CUSTOMERS_V1), [bad, good])
    await eventually(lambda: consumed(reports, 2), what="consumed")
    assert sum(r.dead_lettered for r in reports) == 1
    assert await accounts.pool.fetchval("SELECT count(*) FROM members") == 1
