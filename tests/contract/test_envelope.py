"""CloudEvents binary-mode headers: what encode writes, from_headers reads back."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from contracts.corebanking.v1 import AssetSnapshotTaken
from contracts.envelope import SPECVERSION, Envelope, EnvelopeError, dataschema_of, encode
from contracts.topics import ASSET_SNAPSHOTS_V1

SHANGHAI = timezone(timedelta(hours=8))
EVENT = AssetSnapshotTaken(
    customer_id="C3100482751",
    month="2025-05",
    average_daily_assets=Decimal("736250.00"),
    currency="CNY",
    taken_at=datetime(2025, 6, 1, 2, 10, tzinfo=SHANGHAI),
)
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_round_trip_keeps_every_attribute() -> None:
    at = datetime(2025, 6, 1, 2, 10, 0, 123456, tzinfo=SHANGHAI)
    encoded = encode(
        EVENT, source="urn:corebanking:test", id="evt-1", time=at, traceparent=TRACEPARENT
    )
    envelope = Envelope.from_headers(encoded.headers)
    assert envelope == Envelope(
        id="evt-1",
        type="corebanking.asset-snapshot.taken",
        source="urn:corebanking:test",
        subject="C3100482751",
        time=at,
        dataschema=dataschema_of(AssetSnapshotTaken),
        traceparent=TRACEPARENT,
    )
    assert encoded.topic == ASSET_SNAPSHOTS_V1
    assert encoded.key == b"C3100482751"
    assert dict(encoded.headers)["content-type"] == b"application/json"
    assert AssetSnapshotTaken.model_validate_json(encoded.value) == EVENT


def test_defaults_give_a_fresh_id_and_an_aware_time() -> None:
    first = Envelope.from_headers(encode(EVENT, source="urn:x").headers)
    second = Envelope.from_headers(encode(EVENT, source="urn:x").headers)
    assert first.id != second.id
    assert first.time.tzinfo is not None
    assert abs(first.time - datetime.now(UTC)) < timedelta(minutes=1)


def _headers_without(name: str) -> list[tuple[str, bytes]]:
    return [(k, v) for k, v in encode(EVENT, source="urn:x").headers if k != name]


@pytest.mark.parametrize("name", ["ce_id", "ce_type", "ce_source", "ce_time"])
def test_missing_required_header_is_rejected(name: str) -> None:
    with pytest.raises(EnvelopeError, match=name):
        Envelope.from_headers(_headers_without(name))


def test_empty_ce_id_is_rejected() -> None:
    with pytest.raises(EnvelopeError, match="ce_id"):
        Envelope.from_headers([*_headers_without("ce_id"), ("ce_id", b"")])


@pytest.mark.parametrize("version", [b"0.3", b"2.0", b""])
def test_wrong_specversion_is_rejected(version: bytes) -> None:
    assert SPECVERSION.encode() != version
    with pytest.raises(EnvelopeError, match="specversion"):
        Envelope.from_headers([*_headers_without("ce_specversion"), ("ce_specversion", version)])


def test_non_utf8_header_is_rejected() -> None:
    with pytest.raises(EnvelopeError, match="UTF-8"):
        Envelope.from_headers([*_headers_without("ce_source"), ("ce_source", b"\xff\xfe")])


def test_bad_time_and_content_type_are_rejected() -> None:
    with pytest.raises(EnvelopeError, match="ce_time"):
        Envelope.from_headers([*_headers_without("ce_time"), ("ce_time", b"yesterday")])
    with pytest.raises(EnvelopeError, match="content-type"):
        Envelope.from_headers(
            [*_headers_without("content-type"), ("content-type", b"application/avro")]
        )
