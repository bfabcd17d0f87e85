"""Checks that the points ledger adds up: `await check(conn)`. Operations run it with
`loyalty-ops reconcile` (beside rewards against points); this module's own command is kept
for scripts that call it:

    python -m services.points.invariants [--schema points]   # DATABASE_URL from the env

exits 1 and lists the offending rows when an invariant is broken, 0 when all hold.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import asyncpg

from .sql.ledger import INVARIANTS, invariant_violations


async def check(conn: asyncpg.Connection) -> dict[str, list[asyncpg.Record]]:
    """The broken invariants with their offending rows; empty when the ledger is sound."""
    # One snapshot for all checks, so a service writing meanwhile cannot cause a false alarm.
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        return await invariant_violations(conn)


async def _main(database_url: str, schema: str) -> int:
    conn = await asyncpg.connect(database_url, server_settings={"search_path": schema})
    try:
        broken = await check(conn)
    finally:
        await conn.close()
    for name, rows in broken.items():
        print(f"BROKEN: {name}")
        for row in rows:
            print(f"    {dict(row)}")
    if not broken:
        print(f"ok: {len(INVARIANTS)} invariants hold in schema {schema}")
    return 1 if broken else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", default="points", help="the service's schema")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        parser.error("DATABASE_URL is not set")
    sys.exit(asyncio.run(_main(database_url, args.schema)))


if __name__ == "__main__":
    main()
