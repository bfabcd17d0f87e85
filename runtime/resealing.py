"""The command line of the re-seal commands (services/accounts/reseal.py,
services/notifications/reseal.py): the schema and chunk arguments, one connection to the
service's schema, the counts printed, exit status 1 if a value opened under none of the
keys."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Protocol

import asyncpg


class Counts(Protocol):
    unreadable: int


def main(doc: str, *, schema: str, per: str, database_url: str,
         reseal: Callable[[asyncpg.Connection, int], Awaitable[Counts]]) -> None:
    """`doc`'s first line describes the command; `per` names what a chunk counts."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--schema", default=schema, help="the service's schema")
    parser.add_argument("--chunk", type=int, default=500, help=f"{per} per transaction")
    args = parser.parse_args()
    if args.chunk < 1:
        parser.error("--chunk must be at least 1")
    sys.exit(asyncio.run(_run(database_url, args.schema, args.chunk, reseal)))


async def _run(database_url: str, schema: str, chunk: int,
               reseal: Callable[[asyncpg.Connection, int], Awaitable[Counts]]) -> int:
    conn = await asyncpg.connect(database_url, server_settings={"search_path": schema})
    try:
        counts = await reseal(conn, chunk)
    finally:
        await conn.close()
    print(counts)
    return 1 if counts.unreadable else 0
