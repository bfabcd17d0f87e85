"""Emptying the read models for a rebuild: the tables the consumed events write, and the
inbox (else the replayed events would be dropped as already seen). The calls published stay
(calls, call_months): a call is suggested once per member and month, rebuild or not."""

from __future__ import annotations

import asyncpg

READ_MODELS = ("members", "tier_changes", "member_months", "redemptions", "inbox")


async def truncate(conn: asyncpg.Connection) -> None:
    await conn.execute(f"TRUNCATE {', '.join(READ_MODELS)}")
