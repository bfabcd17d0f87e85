"""Connection pool on the service's own schema, and SQL migrations applied at start-up."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)
RUNTIME_MIGRATIONS = Path(__file__).parent / "sql"


async def create_pool(database_url: str, schema: str, *, max_size: int = 10) -> asyncpg.Pool:
    await ensure_schema(database_url, schema)
    return await asyncpg.create_pool(
        database_url,
        min_size=1,
        max_size=max_size,
        # Each service sees only its own schema; nobody else's tables are reachable by name.
        server_settings={"search_path": schema, "application_name": f"loyalty-{schema}"},
    )


async def ensure_schema(database_url: str, schema: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    except asyncpg.UniqueViolationError:
        pass  # another instance starting at the same moment created it (IF NOT EXISTS races)
    finally:
        await conn.close()


def migration_files(service_dir: Path) -> list[Path]:
    """The runtime's tables first, then the service's, each in name order."""
    return sorted(RUNTIME_MIGRATIONS.glob("*.sql")) + sorted(
        (service_dir / "migrations").glob("*.sql")
    )


async def migrate(pool: asyncpg.Pool, schema: str, files: list[Path]) -> list[str]:
    """Apply the files not applied yet, each in its own transaction, one instance at a time.
    An applied file whose content changed is an error: migrations are append-only."""
    applied: list[str] = []
    async with pool.acquire() as conn:
        async with conn.transaction():  # IF NOT EXISTS races when instances start together
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))",
                               f"{schema}.migrations")
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, sha256 text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
        for path in files:
            name = f"{path.parent.parent.name}/{path.name}"
            sql = path.read_text()
            digest = hashlib.sha256(sql.encode()).hexdigest()
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))",
                                   f"{schema}.migrations")
                known = await conn.fetchval(
                    "SELECT sha256 FROM schema_migrations WHERE name = $1", name)
                if known == digest:
                    continue
                if known is not None:
                    raise RuntimeError(f"migration {name} changed after it was applied")
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (name, sha256) VALUES ($1, $2)", name, digest)
                applied.append(name)
                log.info("applied migration %s", name)
    return applied
