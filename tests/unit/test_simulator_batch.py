"""The batch generator: valid contracts, a realistic mix, and the faults of a real feed."""

import json
from collections import Counter
from datetime import datetime
from decimal import Decimal

import pytest
from jsonschema import Draft202012Validator

from contracts.envelope import EncodedEvent, Envelope
from contracts.registry import EVENT_TYPES
from contracts.strict import closed_schema
from simulator.batch import generate_batch
from simulator.encoding import SOURCE
from simulator.spending import SHANGHAI, SpendingProfile

START = datetime(2025, 6, 1, tzinfo=SHANGHAI)
POSTED = "corebanking.card-transaction.posted"
REFUNDED = "corebanking.card-transaction.refunded"
EXCLUDED = {"6010", "6011", "6012", "6051", "4829", "7995", "9222", "9311", "9399", "8398", "6513"}
DINING = {"5812", "5813", "5814"}


def _is_travel(mcc: str) -> bool:
    code = int(mcc)
    return 3000 <= code <= 3299 or code == 4511 or 3501 <= code <= 3999 or code == 7011


@pytest.fixture(scope="module")
def batch():
    return generate_batch(40_000, 3_000, seed=7, start=START)


def _decoded(records: list[EncodedEvent]) -> list[tuple[Envelope, dict]]:
    return [(Envelope.from_headers(r.headers), json.loads(r.value)) for r in records]


@pytest.fixture(scope="module")
def cards(batch):
    return _decoded(batch.transactions)


def _validators():
    return {
        ce_type: Draft202012Validator(closed_schema(model.model_json_schema(mode="validation")))
        for ce_type, model in EVENT_TYPES.items()
    }


def test_records_validate_against_the_contracts(batch) -> None:
    validators = _validators()
    records = batch.records()
    # Every record through the model; a spread sample also through the closed schema.
    for index, record in enumerate(records):
        envelope = Envelope.from_headers(record.headers)
        model = EVENT_TYPES[envelope.type]
        event = model.model_validate_json(record.value)
        assert record.topic == model.topic
        assert record.key.decode() == event.subject == envelope.subject
        assert envelope.source == SOURCE
        if index % 7 == 0 or envelope.type == REFUNDED:
            errors = [
                e.message for e in validators[envelope.type].iter_errors(json.loads(record.value))
            ]
            assert errors == [], (envelope.type, errors)


def test_one_onboarding_and_one_snapshot_per_customer(batch, cards) -> None:
    onboarded = [data["customer_id"] for _, data in _decoded(batch.customers)]
    snapshots = [data["customer_id"] for _, data in _decoded(batch.snapshots)]
    assert len(onboarded) == len(set(onboarded)) == 3_000
    assert sorted(snapshots) == sorted(onboarded)
    assert {data["month"] for _, data in _decoded(batch.snapshots)} == {"2025-05"}
    assert {data["customer_id"] for _, data in cards} <= set(onboarded)


def test_mcc_mix_covers_bonus_and_excluded_categories(cards) -> None:
    mccs = Counter(data["merchant"]["mcc"] for env, data in cards if env.type == POSTED)
    total = sum(mccs.values())
    assert EXCLUDED <= mccs.keys(), EXCLUDED - mccs.keys()
    assert DINING <= mccs.keys()
    assert "4511" in mccs and "7011" in mccs
    assert any(3000 <= int(m) <= 3299 for m in mccs) and any(3501 <= int(m) <= 3999 for m in mccs)
    assert 0.01 < sum(mccs[m] for m in EXCLUDED) / total < 0.06
    assert 0.15 < sum(mccs[m] for m in DINING) / total < 0.35
    assert 0.02 < sum(n for m, n in mccs.items() if _is_travel(m)) / total < 0.10
    assert mccs.most_common(1)[0][0] == "5411"


def test_amounts_are_plausible(cards) -> None:
    posted = [data for env, data in cards if env.type == POSTED]
    amounts = sorted(Decimal(d["settlement_amount"]) for d in posted)
    median = amounts[len(amounts) // 2]
    assert Decimal(40) < median < Decimal(300)
    atm = [Decimal(d["settlement_amount"]) for d in posted if d["merchant"]["mcc"] == "6011"]
    assert atm and all(a % 100 == 0 for a in atm)
    abroad = [d for d in posted if d["transaction_currency"] != "CNY"]
    assert 0.01 < len(abroad) / len(posted) < 0.06
    assert all(d["merchant"]["country"] != "CN" for d in abroad)
    assert all(
        "." not in d["transaction_amount"] for d in abroad if d["transaction_currency"] == "JPY"
    )


def test_duplicates_resend_the_identical_record(batch) -> None:
    by_id: dict[str, list[EncodedEvent]] = {}
    for record in batch.transactions:
        by_id.setdefault(dict(record.headers)["ce_id"].decode(), []).append(record)
    repeated = {ce_id: rs for ce_id, rs in by_id.items() if len(rs) > 1}
    assert len(repeated) == batch.counts["duplicates"]
    assert 0.005 < len(repeated) / len(batch.transactions) < 0.015
    for records in repeated.values():
        assert len(records) == 2 and records[0] == records[1]


def _refunds_and_purchases(cards):
    purchases = {d["transaction_id"]: (i, d) for i, (e, d) in enumerate(cards) if e.type == POSTED}
    refunds = [(i, d) for i, (e, d) in enumerate(cards) if e.type == REFUNDED]
    return refunds, purchases


def test_some_refunds_arrive_before_their_purchase(batch, cards) -> None:
    refunds, purchases = _refunds_and_purchases(cards)
    first_refund = {}
    for i, d in refunds:
        first_refund.setdefault(d["original_transaction_id"], i)
    first_purchase = {}
    for i, (e, d) in enumerate(cards):
        if e.type == POSTED:
            first_purchase.setdefault(d["transaction_id"], i)
    early = [t for t, i in first_refund.items() if i < first_purchase[t]]
    assert len(early) == batch.counts["early_refunds"] > 0


def test_refunds_match_their_purchase_and_never_exceed_it(batch, cards) -> None:
    refunds, purchases = _refunds_and_purchases(cards)
    unique = {d["refund_id"]: d for _, d in refunds}
    assert len(unique) == batch.counts["refunds"]
    partial = 0
    for refund in unique.values():
        _, original = purchases[refund["original_transaction_id"]]
        amount, paid = Decimal(refund["refund_amount"]), Decimal(original["settlement_amount"])
        assert Decimal("0.01") <= amount <= paid
        partial += amount < paid
        assert refund["customer_id"] == original["customer_id"]
        assert refund["card_token"] == original["card_token"]
        assert refund["mcc"] == original["merchant"]["mcc"]
        assert refund["refunded_at"] > original["posted_at"]
        assert refund["mcc"] not in {"6010", "6011", "6051", "4829"}
    assert 0.02 < len(unique) / batch.counts["purchases"] < 0.04
    assert 0.2 < partial / len(unique) < 0.45


def test_every_refund_can_be_made_to_overtake_its_purchase() -> None:
    profile = SpendingProfile(refund_rate=0.5, early_refund_rate=1.0, duplicate_rate=0.0)
    batch = generate_batch(400, 20, seed=1, start=START, profile=profile)
    cards = _decoded(batch.transactions)
    seen_purchases = set()
    refunds = 0
    for envelope, data in cards:
        if envelope.type == POSTED:
            seen_purchases.add(data["transaction_id"])
        else:
            refunds += 1
            assert data["original_transaction_id"] not in seen_purchases
    assert refunds == batch.counts["refunds"] > 0


def test_same_seed_same_records_other_seed_other_records() -> None:
    first = generate_batch(2_000, 100, seed=3, start=START)
    again = generate_batch(2_000, 100, seed=3, start=START)
    other = generate_batch(2_000, 100, seed=4, start=START)
    assert first.records() == again.records()
    assert first.counts == again.counts
    assert [r.value for r in first.transactions] != [r.value for r in other.transactions]


def test_default_start_ends_about_now() -> None:
    batch = generate_batch(200, 10, seed=5)
    latest = max(Envelope.from_headers(r.headers).time for r in batch.transactions)
    assert abs((datetime.now(SHANGHAI) - latest).total_seconds()) < 6 * 3600 + 300
