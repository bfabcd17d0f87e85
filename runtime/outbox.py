"""Writing outgoing records to the outbox, in the caller's transaction (only the unit of
work calls this: runtime/unit_of_work.py), and waking the process's relay once they are
committed.

A statement's records go in ONE row, in order, as parallel arrays (runtime/sql/0005): by
their own statement (`write`), or inside the caller's save statement (`with_rows`), which
spares a round trip on a hot path. `committed(service)` after the commit wakes this
process's relay of the service (`wake_up`), which then publishes at once instead of at its
next poll; rows written by other processes wait for that poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Sequence
from functools import cache

import asyncpg

from contracts.envelope import EncodedEvent

_INSERT = """
INSERT INTO outbox (records, topics, keys, payloads, header_names, header_values, header_counts)
VALUES (cardinality(${0}::text[]), ${0}::text[], ${1}::bytea[], ${2}::bytea[], ${3}::text[],
        ${4}::bytea[], ${5}::int[])
"""


@cache
def _insert(after: int) -> str:
    """The INSERT with its parameters numbered after `after` others."""
    return _INSERT.format(*range(after + 1, after + 7))


async def write(conn: asyncpg.Connection, records: Iterable[EncodedEvent]) -> int:
    records = list(records)
    if not records:
        return 0
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
    names: list[str] = []
    values: list[bytes] = []
    for r in records:
        for name, value in r.headers:
            names.append(name)
            values.append(value)
    return [[r.topic for r in records], [r.key for r in records], [r.value for r in records],
            names, values, [len(r.headers) for r in records]]


def records_of(row: asyncpg.Record) -> Iterator[EncodedEvent]:
    """The records of an outbox row (as the relay's query reads it), in order."""
    names, values, at = row["header_names"], row["header_values"], 0
    for topic, key, value, n in zip(row["topics"], row["keys"], row["payloads"],
                                    row["header_counts"], strict=True):
        yield EncodedEvent(topic=topic, key=key, value=value,
                           headers=list(zip(names[at:at + n], values[at:at + n], strict=True)))
        at += n


# ---------------------------------------------------------------------- waking the relay

class WakeUp:
    """A relay's wake-up: `rows` set whenever this process commits outbox rows of its
    service, `awaited` when a request waits for one of them; the relay clears both before
    it reads the outbox."""

    __slots__ = ("awaited", "rows")

    def __init__(self) -> None:
        self.rows = asyncio.Event()
        self.awaited = asyncio.Event()

    def clear(self) -> None:
        self.rows.clear()
        self.awaited.clear()


#: Per service: the wake-up of each relay of it in this process (tests run several).
_relays: dict[str, set[WakeUp]] = {}


def wake_up(service: str) -> WakeUp:
    """A relay's wake-up; `forget` it when the relay stops."""
    wake = WakeUp()
    _relays.setdefault(service, set()).add(wake)
    return wake


def forget(service: str, wake: WakeUp) -> None:
    _relays.get(service, set()).discard(wake)


def committed(service: str, *, awaited: bool = False) -> None:
    """Rows of `service` were committed: its relays in this process publish them now
    (`awaited`: a request waits for one of them) or after their linger."""
    for wake in _relays.get(service, ()):
        wake.rows.set()
        if awaited:
            wake.awaited.set()
