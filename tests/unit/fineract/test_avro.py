"""Fineract's Avro (avro.py): the schema files parsed together with the decimal type, the
fingerprints Java's Avro computes, single-object encoding both ways, and refusals."""

from decimal import Decimal

import pytest

from adapters.fineract.avro import ENVELOPE, Schemas, UndecodableError
from adapters.fineract.messages import CLIENT, SAVINGS_ACCOUNT, SAVINGS_TRANSACTION

# SchemaNormalization.parsingFingerprint64 of Apache Avro 1.12.0 (Java) on the same files,
# as the little-endian bytes of the single-object header.
JAVA_FINGERPRINTS = {
    ENVELOPE: "1fd07bcc226c7826",
    CLIENT: "568dc616a866b865",
    SAVINGS_ACCOUNT: "8a7cc2ffa27a040c",
    SAVINGS_TRANSACTION: "09e70e3f7fdcb823",
}


@pytest.fixture(scope="module")
def schemas():
    return Schemas()


def test_every_schema_file_is_parsed(schemas):
    assert len(schemas.by_name) == 76
    assert len(schemas.by_fingerprint) == 76


def test_fingerprints_are_javas(schemas):
    for name, fingerprint in JAVA_FINGERPRINTS.items():
        assert schemas.by_name[name].fingerprint.hex() == fingerprint


def test_bigdecimal_is_a_decimal_with_eight_places(schemas):
    data = schemas.encode(SAVINGS_TRANSACTION, {"id": 1, "amount": Decimal("12.5"),
                                                "runningBalance": Decimal("100.12345678")})
    assert data[:2] == b"\xc3\x01" and data[2:10].hex() == JAVA_FINGERPRINTS[SAVINGS_TRANSACTION]
    name, value = schemas.decode(data)
    assert name == SAVINGS_TRANSACTION
    assert value["runningBalance"] == Decimal("100.12345678")
    assert value["amount"] == Decimal("12.50000000")


@pytest.mark.parametrize("mangle, reason", [
    (lambda d: d[10:], "no C3 01 header"),
    (lambda d: d[:2] + bytes(8) + d[10:], "unknown schema fingerprint"),
    (lambda d: d[:14], "bad .* body"),
    (lambda d: d + b"\x00", "bytes left"),
    (lambda d: b"", "no C3 01 header"),
])
def test_bytes_that_do_not_decode_are_refused(schemas, mangle, reason):
    data = schemas.encode(CLIENT, {"id": 7, "firstname": "伟", "lastname": "张"})
    with pytest.raises(UndecodableError, match=reason):
        schemas.decode(mangle(data))


def test_a_payload_of_another_schema_than_announced_is_refused(schemas):
    data = schemas.encode(CLIENT, {"id": 7})
    with pytest.raises(UndecodableError, match="expected"):
        schemas.decode(data, SAVINGS_ACCOUNT)
