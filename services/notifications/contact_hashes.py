"""At start: the lookup hashes (CONTACT_HASH_KEY) of contacts projected before notifications
migration 0008, computed from their sealed number and openid, a chunk per transaction. New
contacts get theirs when projected (handlers/contacts.py); a reply finds its member by them
(handlers/opt_outs.py)."""

from __future__ import annotations

import logging

import asyncpg

from runtime.personal_data import Sealer, lookup_hash

from .sql import opt_outs as sql

log = logging.getLogger(__name__)


async def hash_contacts(pool: asyncpg.Pool, sealer: Sealer, hash_key: bytes,
                        chunk: int = 500) -> int:
    """Returns how many contacts got their hashes."""
    done = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await sql.unhashed(conn, chunk)
            await sql.set_hashes(conn, [(
                r["member_id"],
                lookup_hash(hash_key, sealer.open(f"{r['member_id']}:mobile", r["mobile_sealed"])),
                r["openid_sealed"] and lookup_hash(
                    hash_key, sealer.open(f"{r['member_id']}:openid", r["openid_sealed"])))
                for r in rows])
        done += len(rows)
        if len(rows) < chunk:
            break
    if done:
        log.info("lookup hashes computed for %d contacts", done)
    return done
