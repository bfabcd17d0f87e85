"""Events to Kafka records with reproducible ids: the same seed gives the same ce_ids."""

import random
from datetime import datetime

from contracts.base import Event
from contracts.envelope import EncodedEvent, encode

SOURCE = "urn:corebanking:simulator"

_VERSION_MASK = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_4 = (0x4000 << 64) | (0x8000 << 48)


def event_id(rng: random.Random) -> str:
    """A UUID version 4 drawn from `rng` (uuid.uuid4 would break seed reproducibility)."""
    h = f"{(rng.getrandbits(128) & _VERSION_MASK) | _VERSION_4:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def to_record(rng: random.Random, event: Event, at: datetime) -> EncodedEvent:
    """The record core banking would publish; `ce_time` is when the event happened."""
    return encode(event, source=SOURCE, id=event_id(rng), time=at)
