#!/opt/loyalty/bin/python
"""The image's entry point (deploy/image/Containerfile):

    loyalty points|accounts|rewards|notifications|analytics   run that service (HTTP on
                                                    HTTP_PORT; analytics also takes a
                                                    command: report, rebuild)
    loyalty fineract                                run the Fineract adapter (likewise; it
                                                    applies its migrations at start)
    loyalty migrate [SERVICE ...]                   apply every service's migrations, then exit
    loyalty health live|ready                       probe this container's service (exit 0/1)

The service replaces this process (exec), so it is PID 1 and gets SIGTERM itself.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import urllib.request
from pathlib import Path

import adapters
import services

SERVICES = sorted(p.parent.name for p in Path(services.__file__).parent.glob("*/__main__.py"))
#: Optional parts (a bank's core banking): run like a service, not in `migrate`'s default.
ADAPTERS = sorted(p.parent.name for p in Path(adapters.__file__).parent.glob("*/__main__.py"))


async def migrate(names: list[str]) -> None:
    """What each service does at start (runtime/db.py), for all of them before any starts:
    the schema, the runtime's tables, then the service's migrations, under its lock."""
    from runtime import db

    url = os.environ["DATABASE_URL"]
    await _reachable(url, timeout=float(os.environ.get("MIGRATE_WAIT_SECONDS", "60")))
    for name in names:
        pool = await db.create_pool(url, name, max_size=2)
        try:
            files = db.migration_files(Path(services.__file__).parent / name)
            applied = await db.migrate(pool, name, files)
            print(f"{name}: {len(applied)} applied, {len(files) - len(applied)} already there",
                  flush=True)
        finally:
            await pool.close()


async def _reachable(url: str, timeout: float) -> None:
    """Wait for the database to accept connections (it may start beside us, as in Compose)."""
    import asyncpg

    deadline = time.monotonic() + timeout
    while True:
        try:
            await (await asyncpg.connect(url, timeout=5)).close()
            return
        except (OSError, asyncpg.CannotConnectNowError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1)


def health(kind: str) -> int:
    port = os.environ.get("HTTP_PORT", "8000")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/{kind}", timeout=3):
            return 0
    except OSError as exc:
        print(f"{kind}: {exc}", file=sys.stderr)
        return 1


def main(argv: list[str]) -> int:
    command, args = (argv[0], argv[1:]) if argv else ("help", [])
    if command in SERVICES:
        os.execv(sys.executable, [sys.executable, "-m", f"services.{command}", *args])
    if command in ADAPTERS:
        os.execv(sys.executable, [sys.executable, "-m", f"adapters.{command}", *args])
    if command == "migrate":
        unknown = set(args) - set(SERVICES)
        if unknown:
            raise SystemExit(f"unknown services: {sorted(unknown)}")
        asyncio.run(migrate(args or SERVICES))
        return 0
    if command == "health" and args in (["live"], ["ready"]):
        return health(args[0])
    print(__doc__, file=sys.stderr)
    return 0 if command == "help" else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
