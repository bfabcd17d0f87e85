"""What every batch subscriber shares: skip FastStream's body decoding (the processor
decodes and validates each record itself, so one bad record cannot fail the batch)."""

from typing import Any

from faststream.kafka import KafkaMessage


async def undecoded(_message: KafkaMessage) -> Any:
    return None
