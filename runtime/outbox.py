"""Writing outgoing records to the outbox, in the caller's transaction (only the unit of
work calls this: runtime/unit_of_work.py): by their own statement (`write`), or inside the
caller's save statement (`with_rows`), which spares a round trip on a hot path."""

from collections.abc import Iterable, Sequence
from functools import cache

import asyncpg

from contracts.envelope import EncodedEvent

_COLUMNS = ("topic", "key", "value", "header_names", "header_values")
#: Up to this many rows go in one INSERT (one round trip, a cached prepared statement); more
#: go by COPY, which costs a few round trips but scales with any batch.
_INSERT_AT_MOST = 64
# Headers travel as one text[] of names and one bytea[] of values per row; unnest cannot
# take an array of arrays, so each row's headers are split again from flat arrays by count.
_INSERT = """
INSERT INTO outbox (topic, key, value, header_names, header_values)
SELECT r.topic, r.key, r.value,
       (${4}::text[])[r.first:r.first + r.n - 1], (${5}::bytea[])[r.first:r.first + r.n - 1]
FROM unnest(${1}::text[], ${2}::bytea[], ${3}::bytea[], ${6}::int[], ${7}::int[])
     WITH ORDINALITY AS r (topic, key, value, first, n, i)
ORDER BY r.i
"""


@cache
def _insert(after: int) -> str:
    """The INSERT with its parameters numbered after `after` others."""
    return _INSERT.format(*range(after, after + 8))


async def write(conn: asyncpg.Connection, records: Iterable[EncodedEvent]) -> int:
    records = list(records)
    if not records:
        return 0
    if len(records) > _INSERT_AT_MOST:
        rows = [(r.topic, r.key, r.value, [h[0] for h in r.headers], [h[1] for h in r.headers])
                for r in records]
        await conn.copy_records_to_table("outbox", records=rows, columns=_COLUMNS)
        return len(rows)
    await conn.execute(_insert(0), *_arrays(records))
    return len(records)


def with_rows(statement: str, args: Sequence, records: Sequence[EncodedEvent]
              ) -> tuple[str, list]:
    """`statement` (a WITH query or a plain one) and its `args`, with the INSERT of
    `records` as its first common table expression: one statement writes both."""
    if not records:
        return statement, list(args)
    return _combined(statement, len(args)), [*args, *_arrays(records)]


@cache
def _combined(statement: str, n_args: int) -> str:
    body = statement.lstrip()
    if body[:5].upper() == "WITH ":
        body = ", " + body[5:]
    return f"WITH outbox_rows AS ({_insert(n_args)})\n{body}"


def _arrays(records: Sequence[EncodedEvent]) -> list:
    names, values, firsts, counts = [], [], [], []
    for r in records:
        firsts.append(len(names) + 1)
        counts.append(len(r.headers))
        names.extend(h[0] for h in r.headers)
        values.extend(h[1] for h in r.headers)
    return [[r.topic for r in records], [r.key for r in records], [r.value for r in records],
            names, values, firsts, counts]
