"""The fault suite's input (tools/chaos/inputs.py): the chaos run's disordered delivery holds
each core-banking topic back at times and keeps each topic's own order, and the clean run's
phases deliver the same records in their natural order."""

import random

from tools.chaos.inputs import generate


def test_the_disordered_delivery_holds_each_topic_back_and_keeps_its_order():
    data = generate(seed=7, transactions=600, customers=60, close_share=0.05)
    chunks = data.disordered(random.Random(7), chunks=7)
    delivered = [r for chunk in chunks for r in chunk]
    streams = {"corebanking.customers.v1": [*data.onboardings, *data.changes],
               "corebanking.asset-snapshots.v1": data.snapshots,
               "corebanking.card-transactions.v1": data.transactions}
    for topic, records in streams.items():
        assert [r for r in delivered if r.topic == topic] == records  # all, in order
        # held back: a chunk (not the last) without it, while others advance
        assert any(all(r.topic != topic for r in chunk) for chunk in chunks[:-1])
    assert [r for phase in data.in_order(5) for chunk in phase for r in chunk] == [
        r for phase in data.natural() for r in phase]
