"""Rate mode: churn, compressed months and delivery over time; the publisher and the CLI."""

import asyncio
from collections import Counter

import pytest

from contracts.envelope import Envelope
from contracts.registry import EVENT_TYPES
from simulator import __main__ as cli
from simulator.batch import generate_batch
from simulator.live import LiveSimulation
from simulator.publisher import BOOTSTRAP_ENV, publish

T0 = 1_750_000_000.0  # 2025-06-15 23:06:40 +08:00


def _types(records) -> Counter:
    counts = Counter()
    for record in records:
        envelope = Envelope.from_headers(record.headers)
        EVENT_TYPES[envelope.type].model_validate_json(record.value)
        counts[envelope.type] += 1
    return counts


def test_start_onboards_everyone_and_snapshots_the_last_month() -> None:
    simulation = LiveSimulation(1, 200)
    counts = _types(simulation.start(T0))
    assert counts == {
        "corebanking.customer.onboarded": 200,
        "corebanking.asset-snapshot.taken": 200,
    }
    assert simulation.month == "2025-05"


def test_advance_delivers_purchases_churn_and_new_months() -> None:
    simulation = LiveSimulation(2, 500, month_seconds=60)
    simulation.start(T0)
    seen: Counter = Counter()
    for second in range(1, 121):
        seen += _types(simulation.advance(T0 + second, 1_000))
    assert seen["corebanking.card-transaction.posted"] >= 118_000
    assert seen["corebanking.card-transaction.refunded"] > 0
    assert seen["corebanking.customer.updated"] > 100
    assert seen["corebanking.customer.onboarded"] > 50
    assert seen["corebanking.customer.closed"] >= 1
    # Two simulated months passed: two rounds of snapshots, labelled June then July.
    assert seen["corebanking.asset-snapshot.taken"] >= 2 * 500
    assert simulation.month == "2025-07"


def test_month_label_rolls_over_the_year() -> None:
    simulation = LiveSimulation(3, 10, month_seconds=1)
    simulation.start(T0)
    for step in range(1, 8):
        simulation.advance(T0 + step, 0)
    assert simulation.month == "2025-12"
    simulation.advance(T0 + 8, 0)
    assert simulation.month == "2026-01"


class _RecordingProducer:
    """Stands in for AIOKafkaProducer.send: returns a future that acks later."""

    def __init__(self) -> None:
        self.sent = []

    async def send(self, topic, value, key=None, headers=None):
        self.sent.append((topic, key, value, headers))
        future = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(future.set_result, None)
        return future


async def test_publish_sends_every_record_in_order_with_key_and_headers() -> None:
    records = generate_batch(300, 20, seed=9).records()
    producer = _RecordingProducer()
    assert await publish(producer, records) == len(records)
    assert producer.sent == [(r.topic, r.key, r.value, r.headers) for r in records]


def test_cli_requires_the_bootstrap_servers(monkeypatch, capsys) -> None:
    monkeypatch.delenv(BOOTSTRAP_ENV, raising=False)
    assert cli.main(["--count", "10"]) == 2
    assert BOOTSTRAP_ENV in capsys.readouterr().err


@pytest.mark.parametrize("argv", [[], ["--count", "0"], ["--count", "5", "--rate", "5"]])
def test_cli_rejects_bad_arguments(argv) -> None:
    with pytest.raises(SystemExit):
        cli.main(argv)
