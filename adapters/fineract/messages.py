"""One Kafka record of Fineract's external-events topic, decoded: the `MessageV1` envelope
and its payload, both single-object encoded (avro.py). The key is the aggregate root id as a
Java Long (8 bytes, big-endian)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, date, datetime

from .avro import ENVELOPE, Schemas, UndecodableError

BULK = "org.apache.fineract.avro.BulkMessagePayloadV1"
CLIENT = "org.apache.fineract.avro.client.v1.ClientDataV1"
SAVINGS_ACCOUNT = "org.apache.fineract.avro.savings.v1.SavingsAccountDataV1"
SAVINGS_TRANSACTION = "org.apache.fineract.avro.savings.v1.SavingsAccountTransactionDataV1"
#: Client events that make a customer (Fineract emits no client-closed event).
ONBOARDING = frozenset({"ClientCreateBusinessEvent", "ClientActivateBusinessEvent"})


@dataclass(frozen=True, slots=True)
class FineractEvent:
    """What the handlers read of one external event."""

    #: Fineract's external event id: increasing, so it orders events created together.
    message_id: int
    type: str
    category: str
    tenant: str
    idempotency_key: str
    business_date: date
    created_at: datetime
    dataschema: str
    data: dict


def mapped(type_: str, dataschema: str) -> bool:
    """Whether the adapter applies events of this kind; the others are ignored."""
    if dataschema == CLIENT:
        return type_ in ONBOARDING
    return dataschema in (SAVINGS_ACCOUNT, SAVINGS_TRANSACTION)


def read_envelope(schemas: Schemas, value: bytes | None) -> dict:
    if value is None:
        raise UndecodableError("no value")
    return schemas.decode(value, ENVELOPE)[1]


def unbundle(schemas: Schemas, envelope: dict) -> list[tuple[str, dict]]:
    """The envelope as (key suffix, envelope) pairs: itself, or for a `BulkBusinessEvent`
    one per item (its type, category, dataschema and data in the envelope's place, its id
    after the envelope's idempotency key)."""
    if envelope["dataschema"] != BULK:
        return [("", envelope)]
    _, bulk = schemas.decode(envelope["data"], BULK)
    return [(f":{item['id']}", {**envelope, **item}) for item in bulk["datas"]]


def read_event(schemas: Schemas, envelope: dict) -> FineractEvent:
    """The envelope with its payload decoded (with the schema it names, and only that)."""
    if envelope["dataschema"] not in schemas.by_name:
        raise UndecodableError(f"unknown dataschema {envelope['dataschema']}")
    _, data = schemas.decode(envelope["data"], envelope["dataschema"])
    try:
        created = datetime.fromisoformat(envelope["createdAt"]).replace(tzinfo=UTC)
        business = date.fromisoformat(envelope["businessDate"])
    except ValueError as exc:
        raise UndecodableError(f"bad createdAt or businessDate: {exc}") from exc
    return FineractEvent(message_id=envelope["id"], type=envelope["type"],
                         category=envelope["category"],
                         tenant=envelope["tenantId"], idempotency_key=envelope["idempotencyKey"],
                         business_date=business, created_at=created,
                         dataschema=envelope["dataschema"], data=data)


def long_key(value: int) -> bytes:
    """A Kafka key as Fineract writes it: a Java Long."""
    return struct.pack(">q", value)
