"""The Fineract adapter on the real broker and database: Fineract's external events, encoded
from its real schemas exactly as Fineract writes them (single-object encoding, Long keys),
become core-banking events, and accounts makes members and tiers of them. Bulk events,
duplicates, other kinds of event, other tenants and corrupt bytes are covered, and a replay
of everything publishes nothing new."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial

import pytest

from adapters.fineract.app import build as build_adapter
from adapters.fineract.messages import CLIENT, SAVINGS_TRANSACTION
from adapters.fineract.settings import FineractSettings
from contracts.envelope import EncodedEvent
from contracts.topics import ASSET_SNAPSHOTS_V1, CUSTOMERS_V1, MEMBERS_V1, dead_letter_topic
from runtime.kafka import PERSONAL_DEAD_LETTER_RETENTION_MS, topic_configs
from services.accounts.app import build as build_accounts
from simulator.fineract import TOPIC, Fineract, client, savings_account, transaction
from tests.integration.fresh import fresh_world
from tests.integration.kafka_tools import eventually, produce, read_topic

pytestmark = pytest.mark.integration
D = Decimal
OFFICE = "org.apache.fineract.avro.office.v1.OfficeDataV1"
USD = {"code": "USD", "name": "US Dollar", "decimalPlaces": 2}


def ce_type(record) -> str:
    return dict(record.headers)["ce_type"].decode()


def watch(processor) -> list:
    reports: list = []
    processor.after_commit.append(reports.append)
    return reports


def seen(reports: list) -> int:
    return sum(r.applied + r.duplicates + r.ignored + r.dead_lettered for r in reports)


def january(fineract: Fineract) -> list[EncodedEvent]:
    """Clients 1 (created active), 2 (created pending, then activated) and 3 (no date of
    birth); their savings in January, with what the adapter must not count."""
    f = fineract
    jan = partial(date, 2026, 1)
    deposit = "SavingsDepositBusinessEvent"
    return [
        f.client("ClientCreateBusinessEvent", client(1), jan(2)),
        f.client("ClientActivateBusinessEvent", client(1), jan(2)),  # onboarded once
        f.client("ClientCreateBusinessEvent", client(2, active=False, firstname="娜",
                                                     lastname="李", gender="Female"), jan(2)),
        f.client("ClientActivateBusinessEvent", client(2, firstname="娜", lastname="李",
                                                       gender="Female"), jan(2)),
        f.client("ClientCreateBusinessEvent", client(3, birth=None), jan(2)),
        # Client 1: 0 until the 10th, 3100 to the 25th, 0 from the 26th -> 1600.00.
        f.account("SavingsActivateBusinessEvent", savings_account(11, 1, D(0)), jan(2)),
        f.transaction(deposit, transaction(101, 11, jan(10), D(3100), D(3100)), jan(10)),
        f.transaction("SavingsWithdrawalBusinessEvent",
                      transaction(102, 11, jan(26), D(3100), D(0), deposit=False), jan(26)),
        # A dollar account and a reversed deposit count for nothing.
        f.account("SavingsActivateBusinessEvent",
                  savings_account(12, 1, D(0), currency=USD), jan(2)),
        f.transaction(deposit, transaction(103, 12, jan(3), D(9e6), D(9e6), currency=USD),
                      jan(3)),
        f.transaction(deposit, transaction(104, 11, jan(4), D(9e6), D(9e6), reversed_=True),
                      jan(4)),
        # Client 2: 60,000 from the 1st, two deposits on the 20th (the last counts), and
        # interest posted through the API on the 31st (the summary's balance).
        f.account("SavingsActivateBusinessEvent", savings_account(21, 2, D(60000)), jan(1)),
        # (the two in one bulk event, with an item the adapter does not map)
        f.bulk([(deposit, "Savings", SAVINGS_TRANSACTION,
                 transaction(201, 21, jan(20), D(100), D(60100))),
                ("OfficeCreateBusinessEvent", "Office", OFFICE, {"id": 6, "name": "徐汇支行"}),
                (deposit, "Savings", SAVINGS_TRANSACTION,
                 transaction(202, 21, jan(20), D(900), D(61000)))], key=21,
               business_date=jan(20)),
        f.account("SavingsPostInterestBusinessEvent", savings_account(21, 2, D("61031")),
                  jan(31)),
        # Not for a loyalty programme, or not this bank's tenant: ignored.
        f.message("OfficeCreateBusinessEvent", "Office", OFFICE, {"id": 5, "name": "浦东支行"},
                  key=5, business_date=jan(5)),
        f.client("ClientCreateBusinessEvent", client(4), jan(5), tenant="other-bank"),
    ]


@pytest.fixture
async def world(infra):
    async with fresh_world({"fineract": build_adapter, "accounts": build_accounts}) as world:
        yield world


async def test_fineract_events_become_customers_snapshots_members_and_tiers(world, infra):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    adapter, accounts = world["fineract"], world["accounts"]
    reports = watch(adapter.fineract)
    fineract = Fineract()
    events = january(fineract)
    corrupt = EncodedEvent(TOPIC, b"\x00" * 8, b"\xc3\x01 not avro at all", [])
    clients_schema = fineract.schemas.by_name[CLIENT]
    cut_short = fineract.client(  # a payload whose body ends too soon
        "ClientCreateBusinessEvent", client(5), date(2026, 1, 2),
        raw_data=b"\xc3\x01" + clients_schema.fingerprint + b"\x02")
    resent = events[6]  # Fineract re-sends a failed batch with the same idempotency key
    # A February business date publishes January (after the day's lag).
    february = fineract.transaction(
        "SavingsDepositBusinessEvent", transaction(105, 11, date(2026, 2, 2), D(10), D(10)),
        date(2026, 2, 2))
    sent = [*events, resent, corrupt, cut_short, february]
    await produce(bootstrap, adapter.topic(TOPIC), sent)
    items = len(sent) + 2  # the bulk event's three items count one each
    await eventually(lambda: _at_least(reports, items), what="everything consumed")

    customers = await read_topic(bootstrap, adapter.topic(CUSTOMERS_V1),
                                 until=lambda kept: len(kept) >= 2, settle=1.0)
    onboarded = {json.loads(r.value)["customer_id"]: json.loads(r.value) for r in customers}
    assert [ce_type(r) for r in customers] == ["corebanking.customer.onboarded"] * 2
    assert onboarded["C0000000001"] | {"onboarded_at": None} == {
        "customer_id": "C0000000001", "family_name": "张", "given_name": "伟", "gender": "male",
        "birth_date": "1988-06-01", "mobile": "+8613912345678",
        "preferred_language": "zh-CN", "consents": {"service_messages": False,
                                                    "marketing": False},
        "onboarded_at": None}
    assert onboarded["C0000000002"]["gender"] == "female"

    snapshots = await read_topic(bootstrap, adapter.topic(ASSET_SNAPSHOTS_V1),
                                 until=lambda kept: len(kept) >= 2, settle=1.0)
    assets = {json.loads(r.value)["customer_id"]: json.loads(r.value) for r in snapshots}
    assert {c: (s["month"], s["average_daily_assets"], s["currency"])
            for c, s in assets.items()} == {
        # 60000*19 + 61000*11 + 61031*1 over 31 days = 1,872,031 / 31 = 60388.09...
        "C0000000001": ("2026-01", "1600.00", "CNY"),
        "C0000000002": ("2026-01", "60388.10", "CNY")}

    letters = await read_topic(bootstrap, adapter.topic(dead_letter_topic(TOPIC, adapter.name)),
                               until=lambda kept: len(kept) >= 3, settle=1.0)
    reasons = sorted((dict(r.headers)["dlq_error"], dict(r.headers)["dlq_reason"])
                     for r in letters)
    assert reasons == [(b"rejected", b"client 3: dateOfBirth missing"),
                       (b"undecodable", b"bad " + CLIENT.encode() + b" body: EOFError"),
                       (b"undecodable", b"unknown schema fingerprint 206e6f7420617672")]
    total = sum(r.applied + r.duplicates + r.ignored + r.dead_lettered for r in reports)
    assert total == items
    assert sum(r.duplicates for r in reports) == 1
    assert sum(r.ignored for r in reports) == 3

    # Accounts: two members, and client 2's January makes them gold from February.
    members = await read_topic(
        bootstrap, accounts.topic(MEMBERS_V1),
        until=lambda kept: sum(ce_type(r) == "member.tier-changed" for r in kept) >= 1,
        settle=1.0)
    enrolled = sorted(json.loads(r.value)["member_id"] for r in members
                      if ce_type(r) == "member.enrolled")
    assert enrolled == ["C0000000001", "C0000000002"]
    changes = [json.loads(r.value) for r in members if ce_type(r) == "member.tier-changed"]
    assert [(c["member_id"], c["new_tier"], c["effective_date"]) for c in changes] == [
        ("C0000000002", "gold", "2026-02-01")]

    # Replayed whole (at-least-once), nothing new comes out.
    before = len(reports)
    replayed = [*events, february]
    await produce(bootstrap, adapter.topic(TOPIC), replayed)
    await eventually(lambda: _at_least(reports[before:], len(replayed) + 2),
                     what="replay consumed")
    for topic, expected in ((CUSTOMERS_V1, 2), (ASSET_SNAPSHOTS_V1, 2)):
        again = await read_topic(bootstrap, adapter.topic(topic),
                                 until=lambda kept, n=expected: len(kept) >= n, settle=2.0)
        assert len(again) == expected
    assert sum(r.applied + r.dead_lettered for r in reports[before:]) == 0


async def test_closing_a_clients_last_savings_account_closes_the_customer(infra):
    settings = FineractSettings(fineract_close_with_last_savings_account=True)
    build = partial(build_adapter, settings=settings)
    async with fresh_world({"fineract": build}) as world:
        adapter = world["fineract"]
        bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
        reports = watch(adapter.fineract)
        f, day = Fineract(), date(2026, 3, 2)
        sent = [
            f.client("ClientCreateBusinessEvent", client(7), day),
            f.account("SavingsActivateBusinessEvent", savings_account(71, 7, D(0)), day),
            f.account("SavingsActivateBusinessEvent", savings_account(72, 7, D(0)), day),
            f.account("SavingsCloseBusinessEvent",
                      savings_account(71, 7, D(0), closed_on=date(2026, 3, 5)), day),
            f.account("SavingsCloseBusinessEvent",
                      savings_account(72, 7, D(0), closed_on=date(2026, 3, 9)), day),
        ]
        await produce(bootstrap, adapter.topic(TOPIC), sent)
        await eventually(lambda: _at_least(reports, len(sent)), what="everything consumed")
        records = await read_topic(bootstrap, adapter.topic(CUSTOMERS_V1),
                                   until=lambda kept: len(kept) >= 2, settle=1.0)
        assert [ce_type(r) for r in records] == ["corebanking.customer.onboarded",
                                                 "corebanking.customer.closed"]
        assert json.loads(records[1].value)["reason"] == "all savings accounts closed in Fineract"
        # Fineract's records carry personal data: their dead letters are kept 3 days.
        dlq = adapter.topic(dead_letter_topic(TOPIC, adapter.name))
        configs = await topic_configs(bootstrap, [dlq])
        assert configs[dlq]["retention.ms"] == str(PERSONAL_DEAD_LETTER_RETENTION_MS)


async def test_the_month_end_job_publishes_a_month_nothing_later_came_for(infra):
    settings = FineractSettings(fineract_month_close_grace_days=3)
    async with fresh_world({"fineract": partial(build_adapter, settings=settings)}) as world:
        adapter = world["fineract"]
        bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
        reports = watch(adapter.fineract)
        f = Fineract()
        sent = [f.account("SavingsActivateBusinessEvent", savings_account(81, 8, D(3100)),
                          date(2026, 1, 1)),
                f.transaction("SavingsWithdrawalBusinessEvent", transaction(
                    801, 81, date(2026, 1, 31), D(3100), D(0), deposit=False),
                    date(2026, 1, 31))]
        await produce(bootstrap, adapter.topic(TOPIC), sent)
        await eventually(lambda: _at_least(reports, len(sent)), what="everything consumed")
        job = adapter.month_end
        job.clock = lambda: datetime(2026, 2, 3, 15, tzinfo=UTC)  # 3 Feb 23:00 in Shanghai
        assert await job() == []
        job.clock = lambda: datetime(2026, 2, 3, 16, tzinfo=UTC)  # 4 Feb 00:00 in Shanghai
        assert await job() == ["2026-01"]
        assert await job() == []
        records = await read_topic(bootstrap, adapter.topic(ASSET_SNAPSHOTS_V1),
                                   until=lambda kept: len(kept) >= 1, settle=1.0)
        assert [(json.loads(r.value)["customer_id"], json.loads(r.value)["average_daily_assets"])
                for r in records] == [("C0000000008", "3000.00")]  # 3100 * 30 / 31


async def _at_least(reports: list, n: int) -> bool:
    return seen(reports) >= n
