"""The consumers' FastStream parser decodes the headers of a batch's first record only, and
hands on the whole batch: every record reaches the processor (and a nack seeks them all)."""

from __future__ import annotations

from types import SimpleNamespace

from aiokafka import ConsumerRecord

from runtime.consumer import parse_batch


def _record(offset: int) -> ConsumerRecord:
    return ConsumerRecord(topic="t", partition=0, offset=offset, timestamp=7, timestamp_type=0,
                          key=None, value=f"{offset}".encode(), checksum=None,
                          serialized_key_size=0, serialized_value_size=2,
                          headers=[("ce_id", f"e{offset}".encode())])


async def _parse(records):
    return SimpleNamespace(raw_message=records, body=[r.value for r in records],
                           batch_headers=[dict(r.headers) for r in records], message_id="?")


async def test_the_message_holds_every_record_and_decodes_the_first_ones_headers():
    batch = tuple(_record(offset) for offset in (10, 11, 12))
    message = await parse_batch(batch, _parse)
    assert message.raw_message == batch
    assert message.body == [b"10", b"11", b"12"]
    assert message.batch_headers == [{"ce_id": b"e10"}]
    assert message.message_id == "10-12-7"


async def test_a_single_record_is_parsed_as_it_comes():
    batch = (_record(5),)
    message = await parse_batch(batch, _parse)
    assert message.raw_message == batch and message.batch_headers == [{"ce_id": b"e5"}]
