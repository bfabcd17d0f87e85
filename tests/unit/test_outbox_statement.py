"""The outbox rows written by the caller's own statement (`UnitOfWork.execute`): the INSERT
leads as a common table expression, its parameters numbered after the statement's."""

from contracts.envelope import EncodedEvent
from runtime import outbox

RECORDS = [EncodedEvent(topic="t", key=b"k1", value=b"v1", headers=[("a", b"1"), ("b", b"2")]),
           EncodedEvent(topic="t", key=b"k2", value=b"v2", headers=[("c", b"3")])]


def test_a_with_query_gets_the_insert_as_its_first_expression():
    query, args = outbox.with_rows("WITH x AS (UPDATE a SET b = $2) UPDATE c SET d = $1",
                                   ["d", "b"], RECORDS)
    assert query.startswith("WITH outbox_rows AS (\nINSERT INTO outbox")
    assert query.endswith("\n, x AS (UPDATE a SET b = $2) UPDATE c SET d = $1")
    # One row for all of the statement's records (runtime/sql/0005), its parameters after
    # the statement's two.
    assert "VALUES (cardinality($3::text[]), $3::text[], $4::bytea[], $5::bytea[], $6::text[]," \
        in query and "$7::bytea[], $8::int[])" in query
    assert args == ["d", "b", ["t", "t"], [b"k1", b"k2"], [b"v1", b"v2"], ["a", "b", "c"],
                    [b"1", b"2", b"3"], [2, 1]]


def test_a_plain_statement_and_no_records():
    query, args = outbox.with_rows("UPDATE c SET d = $1", ["d"], RECORDS[:1])
    assert query.startswith("WITH outbox_rows AS (") and query.endswith("\nUPDATE c SET d = $1")
    assert args[:2] == ["d", ["t"]]
    assert outbox.with_rows("UPDATE c SET d = $1", ["d"], []) == ("UPDATE c SET d = $1", ["d"])
