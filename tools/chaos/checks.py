"""The differences the suite looks for: between the two worlds' end states (state.py), and
within one world: every outgoing event published once, no message sent twice to a provider,
the points invariants, the rewards-points reconciliation, nothing left pending.

A difference is one line naming what differs and how; the suite wants none.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import httpx
from aiokafka.admin import AIOKafkaAdminClient

from services.points.invariants import check as points_invariants

from .kafka import Broker
from .state import State
from .world import PUBLISHES, SANDBOX, World


@dataclass(frozen=True)
class Difference:
    kind: str  # e.g. "points.earnings", "published twice", "invariant"
    what: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.what}"


def compare(clean: State, chaos: State) -> list[Difference]:
    """Every business key whose row is missing from one world or differs, column by column."""
    found = []
    for table in sorted(set(clean) | set(chaos)):
        a, b = clean.get(table, {}), chaos.get(table, {})
        for key in sorted(set(a) | set(b), key=repr):
            shown = _key(key)
            if key not in b:
                found.append(Difference(table, f"{shown} only in the clean run: {a[key]}"))
            elif key not in a:
                found.append(Difference(table, f"{shown} only in the chaos run: {b[key]}"))
            elif a[key] != b[key]:
                found.append(Difference(table, f"{shown}: {_delta(a[key], b[key])}"))
    return found


def _key(key: tuple) -> str:
    return "/".join(map(str, key))


def _delta(clean, chaos) -> str:
    if isinstance(clean, dict) and isinstance(chaos, dict):
        return ", ".join(f"{c} clean {clean.get(c)!r} chaos {chaos.get(c)!r}"
                         for c in sorted(set(clean) | set(chaos)) if clean.get(c) != chaos.get(c))
    return f"clean {clean!r} chaos {chaos!r}"


@dataclass
class Published:
    """Events on a world's output topics: distinct ids and records per topic."""

    events: dict[str, int]
    records: dict[str, int]


async def published_once(world: World, broker: Broker) -> tuple[Published, list[Difference]]:
    """Counts by ce_id on every output topic of the world (its dead-letter topics included)."""
    topics = [world.topic(t) for ts in PUBLISHES.values() for t in ts]
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        topics += sorted(t for t in await admin.list_topics()
                         if t.startswith(world.prefix) and ".dlq." in t)
    finally:
        await admin.close()
    counted = await broker.event_ids(topics)
    found = [Difference("published twice", f"{t.removeprefix(world.prefix)} ce_id {ce_id}"
                                           f" {n} times")
             for t, ids in counted.items() for ce_id, n in sorted(ids.items()) if n > 1]
    short = {t.removeprefix(world.prefix): ids for t, ids in counted.items()}
    return Published({t: len(ids) for t, ids in short.items()},
                     {t: sum(ids.values()) for t, ids in short.items()}), found


async def provider_sends(world: World) -> tuple[int, list[Difference], set[str]]:
    """Messages the sandbox accepted, those it accepted more than once, and their ids."""
    async with httpx.AsyncClient(timeout=30) as http:
        sends: dict[str, int] = (await http.get(f"{world.url(SANDBOX)}/chaos/sends")).json()
    return sum(sends.values()), [
        Difference("sent twice to a provider", f"message {m} accepted {n} times")
        for m, n in sorted(sends.items()) if n > 1], set(sends)


async def ledger_checks(world: World, database_url: str) -> list[Difference]:
    """The points invariants, and the reconciliation of rewards with points: a points-paid
    redemption confirmed (or cancelled since) has exactly one debit of its points, a
    rejected one none, a cancelled one exactly one refund; no debit or refund of a
    redemption rewards does not know; nothing still pending."""
    found = []
    conn = await asyncpg.connect(database_url,
                                 server_settings={"search_path": world.schema("points")})
    try:
        for name, rows in (await points_invariants(conn)).items():
            found += [Difference("invariant", f"{name}: {dict(r)}") for r in rows]
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            redemptions = await conn.fetch(
                f'SELECT id, status, points, refund_status FROM "{world.schema("rewards")}"'
                ".redemptions")
            transfers = await conn.fetch(
                "SELECT kind, reference, points FROM transfers WHERE kind IN ('debit', 'refund')")
            pending_refunds = await conn.fetchval("SELECT count(*) FROM pending_refunds")
    finally:
        await conn.close()
    moved = {(t["kind"], t["reference"]): t["points"] for t in transfers}
    known = set()
    for r in redemptions:
        known.add(r["id"])
        what = f"redemption {r['id']} ({r['status']}, {r['points']} points)"
        if r["status"] == "pending":
            found.append(Difference("reconciliation", f"{what} still pending"))
        if not r["points"]:
            continue
        debited = moved.get(("debit", r["id"]))
        if r["status"] in ("confirmed", "cancelled") and debited != r["points"]:
            found.append(Difference("reconciliation", f"{what}: debited {debited}"))
        if r["status"] == "rejected" and debited is not None:
            found.append(Difference("reconciliation", f"{what}: debited {debited}"))
        refunded = moved.get(("refund", r["id"]))
        if r["status"] == "cancelled" and (refunded != r["points"]
                                           or r["refund_status"] != "refunded"):
            found.append(Difference("reconciliation", f"{what}: refunded {refunded}, refund"
                                                      f" status {r['refund_status']}"))
        if r["status"] != "cancelled" and refunded is not None:
            found.append(Difference("reconciliation", f"{what}: refunded {refunded}"))
    found += [Difference("reconciliation", f"{kind} {reference} of no redemption")
              for kind, reference in sorted(moved) if reference not in known]
    if pending_refunds:
        found.append(Difference("stalled", f"{pending_refunds} refunds still wait for their"
                                            " purchase"))
    return found
