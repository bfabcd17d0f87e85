"""A batch fetched before a rebalance that gave its partition back to the same consumer,
rewound to the committed offset: its records come again with the next fetch, so this turn
applies none of them (else the group reads them twice: start-up replays)."""

from __future__ import annotations

from types import SimpleNamespace

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import IllegalStateError

from runtime.consumer import BatchProcessor, BatchReport


class Consumer:
    def __init__(self, positions: dict[TopicPartition, int]) -> None:
        self.positions = positions

    def assignment(self) -> set[TopicPartition]:
        return set(self.positions)

    async def position(self, tp: TopicPartition) -> int:
        if tp not in self.positions:
            raise IllegalStateError(f"Partition {tp} is not assigned")
        return self.positions[tp]

    def highwater(self, tp: TopicPartition) -> int:
        return self.positions[tp]


def _record(partition: int, offset: int) -> ConsumerRecord:
    return ConsumerRecord(topic="t", partition=partition, offset=offset, timestamp=0,
                          timestamp_type=0, key=None, value=b"{}", checksum=None,
                          serialized_key_size=0, serialized_value_size=2, headers=())


async def test_records_at_or_past_a_rewound_position_wait_for_the_next_fetch():
    processor = BatchProcessor(service="s", topic="t", group="s", pool=None,  # type: ignore[arg-type]
                               handler=None, models={})  # type: ignore[arg-type]
    applied: list[tuple[int, int]] = []

    async def process(records):
        applied.extend((r.partition, r.offset) for r in records)
        return BatchReport(len(records), 0, 0, 0)

    processor.process = process  # type: ignore[method-assign]
    batch = tuple(_record(p, o) for p in (0, 1) for o in (10, 11, 12))
    # Partition 0 consumed as usual (next position 13); partition 1 rewound to its
    # committed offset 11 by a rebalance while the batch waited.
    consumer = Consumer({TopicPartition("t", 0): 13, TopicPartition("t", 1): 11})
    await processor.consume(SimpleNamespace(raw_message=batch, consumer=consumer))
    assert applied == [(0, 10), (0, 11), (0, 12), (1, 10)]

    applied.clear()  # partition 1 taken away while its position was asked: not ours
    consumer = Consumer({TopicPartition("t", 0): 13, TopicPartition("t", 1): 13})
    consumer.assignment = lambda: {TopicPartition("t", 0), TopicPartition("t", 1)}
    del consumer.positions[TopicPartition("t", 1)]
    await processor.consume(SimpleNamespace(raw_message=batch, consumer=consumer))
    assert applied == [(0, 10), (0, 11), (0, 12)]

    applied.clear()  # every partition rewound: nothing applied this turn
    consumer = Consumer({TopicPartition("t", 0): 10, TopicPartition("t", 1): 10})
    report = await processor.consume(SimpleNamespace(raw_message=batch, consumer=consumer))
    assert applied == [] and report == BatchReport(0, 0, 0, 0)
