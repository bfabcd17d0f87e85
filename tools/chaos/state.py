"""A world's end state, read from its schemas by business keys, in a form two worlds can be
compared in: table -> {business key: the other columns}.

Left out: surrogate ids, the wall-clock times of when a row was written (`*_at` columns
named for it, below), ciphertexts (random nonces: any bytea column is compared as whether it
is set, so a newly sealed column needs nothing here), and ids a world makes up: a redemption id
is replaced by its partner and Idempotency-Key wherever it appears. The points ledger is
compared as balances, lots, each purchase's rating as it stands and the points each business
fact moved in all (a purchase rated late is re-rated: more transfers, the same net). Not
compared at all: what depends on the order facts arrived in by design: the audit of tier
announcements (accounts.tier_history, corrections included), the re-ratings themselves, the
message log (the daily cap counts in arrival order) and the inbox/outbox.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from .world import SERVICES, World

#: When a row was written: differs between runs by nature.
WALL_CLOCK = frozenset({"recorded_at", "updated_at", "received_at", "created_at",
                        "decided_at", "announced_at", "processed_at"})
Key = tuple
State = dict[str, dict[Key, Any]]


@dataclass(frozen=True)
class Table:
    service: str
    name: str
    key: tuple[str, ...]
    ignore: tuple[str, ...] = ()
    where: str = ""
    #: Columns holding a redemption id (replaced by partner/key).
    redemption_ids: tuple[str, ...] = ()
    #: Columns holding the day of the redemptions, or its year, month or day as a usage
    #: period: named relative to it (the two runs may redeem on either side of midnight).
    dated: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.service}.{self.name}"


TABLES = (
    Table("accounts", "members", ("member_id",), ("mobile_enc", "openid_enc")),
    Table("accounts", "consent_changes", ("member_id", "consent", "changed_at", "event_id"),
          ("id",)),
    Table("accounts", "asset_snapshots", ("member_id", "month")),
    Table("accounts", "member_tiers", ("member_id",), ("override_id",)),
    Table("accounts", "tier_timeline", ("member_id", "effective_date"), ("override_id",)),
    Table("points", "balances", ("member_id",)),
    Table("points", "lots", ("member_id", "expires_on"), where="remaining > 0"),
    # What a refund took back is compared in its purchase's net (transfers below): a
    # refund applied before a re-rating keeps the share it took, the re-rating nets the rest.
    Table("points", "refunds", ("refund_id",), ("points_reversed",)),
    Table("points", "pending_refunds", ("refund_id",),
          ("payload", "header_names", "header_values", "original_topic", "original_partition",
           "original_offset", "dead_lettered_at")),
    Table("points", "debits", ("debit_id",), redemption_ids=("debit_id",)),
    Table("points", "debit_lots", ("debit_id", "expires_on"), redemption_ids=("debit_id",)),
    Table("points", "monthly_bonus", ("member_id", "month")),
    Table("points", "closed_members", ("member_id",)),
    Table("points", "expiry_notices", ("member_id", "expires_on")),
    Table("rewards", "members", ("member_id",), ("changed_at",)),
    Table("rewards", "usage", ("member_id", "item", "period"), where="used > 0",
          dated=("period",)),
    Table("rewards", "redemptions", ("id",), ("settled_at", "cancelled_at"),
          redemption_ids=("id",), dated=("valid_on", "usage_period")),
    Table("notifications", "contacts", ("member_id",), ("mobile_sealed", "openid_sealed")),
    Table("notifications", "closed_members", ("member_id",)),
)
#: Columns kept only as whether they are set (a time of the world's own, e.g. a refund
#: made at the moment of the cancellation).
AS_FLAG = {("points", "debits"): ("refunded_at",)}
#: A re-rating's reference: `<transaction id>/rerated-<n>` (services/points/domain/rerating.py).
RERATED = re.compile(r"^(?P<transaction>.+)/rerated-\d+$")


async def read(world: World, database_url: str, day: date) -> State:
    """`day`: when the world's redemptions ran (Asia/Shanghai)."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            names = await redemption_names(conn, world)
            state: State = {}
            for table in TABLES:
                state[table.label] = await _table(conn, world, table, names.get, day)
            state["points.member_tiers"] = await _points_tiers(conn, world)
            state["points.ratings"] = await _ratings(conn, world)
            state["points.transfers (net per fact)"] = await _net_transfers(conn, world,
                                                                            names.get)
            state["rewards.refusals"] = await _refusals(conn, world)
            return state
    finally:
        await conn.close()


async def redemption_names(conn: asyncpg.Connection, world: World) -> dict[str, str]:
    """Redemption id -> "partner/Idempotency-Key" of the request that made it."""
    rows = await conn.fetch(
        f'SELECT redemption_id, partner_id, key FROM "{world.schema("rewards")}".idempotency'
        " WHERE redemption_id IS NOT NULL")
    return {r["redemption_id"]: f"{r['partner_id']}/{r['key']}" for r in rows}


async def _table(conn: asyncpg.Connection, world: World, table: Table,
                 name_of: Callable[[str], str | None], day: date) -> dict[Key, Any]:
    where = f" WHERE {table.where}" if table.where else ""
    rows = await conn.fetch(f'SELECT * FROM "{world.schema(table.service)}".{table.name}{where}')
    flags = AS_FLAG.get((table.service, table.name), ())
    out = {}
    for row in rows:
        values = dict(row)
        for column in table.redemption_ids:
            values[column] = name_of(values[column]) or values[column]
        for column in flags:
            values[column] = values[column] is not None
        for column, value in values.items():
            if isinstance(value, bytes):  # sealed: random nonces
                values[column] = "<sealed>"
        for column in table.dated:
            values[column] = _relative(values[column], day)
        key = tuple(values[c] for c in table.key)
        out[key] = {c: v for c, v in sorted(values.items())
                    if c not in table.key and c not in table.ignore and c not in WALL_CLOCK}
    return out


def _relative(value: Any, day: date) -> Any:
    """The day, or its year, month or day as a usage period, by name; anything else as is."""
    names = {day: "<day>", day.isoformat(): "<day>", f"{day:%Y-%m}": "<month>",
             str(day.year): "<year>"}
    return names.get(value, value)


async def _ratings(conn: asyncpg.Connection, world: World) -> dict[Key, Any]:
    """Each purchase's rating as it stands (after any re-rating: the `ratings` view, where
    the schema has it): how many re-ratings it took depends on the order facts came in."""
    schema = world.schema("points")
    has_view = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f'"{schema}".ratings')
    rows = await conn.fetch(f'SELECT * FROM "{schema}".{"ratings" if has_view else "earnings"}')
    return {(r["transaction_id"],): {c: v for c, v in sorted(dict(r).items())
                                     if c not in ("transaction_id", "revision",
                                                  "reversed_adjustment") and c not in WALL_CLOCK}
            for r in rows}


async def _net_transfers(conn: asyncpg.Connection, world: World,
                         name_of: Callable[[str], str | None]) -> dict[Key, Any]:
    """The member's points each business fact moved in all, whatever transfers it took: a
    purchase nets its earning, its re-ratings and its refunds' reversals; a redemption its
    debit, and its refund apart; an expiry is one transfer; a member's forfeitures are one
    total (the closure's, and those of facts dated before it that came after it)."""
    schema = world.schema("points")
    refunded = dict(await conn.fetch(f'SELECT refund_id, transaction_id FROM "{schema}".refunds'))
    net: dict[Key, list] = {}
    for t in await conn.fetch(f'SELECT kind, reference, member_id, credit_account, points'
                              f' FROM "{schema}".transfers'):
        kind, reference = t["kind"], t["reference"]
        points = t["points"] if t["credit_account"] == f"member:{t['member_id']}" else -t["points"]
        if kind in ("earn", "reverse"):
            rerated = RERATED.match(reference)
            transaction = (rerated["transaction"] if rerated
                           else refunded.get(reference, reference) if kind == "reverse"
                           else reference)
            key: Key = ("purchase", transaction)
        elif kind in ("debit", "refund"):
            key = (kind, name_of(reference) or reference)
        elif kind == "forfeit":  # the member's, whichever fact made it: a late purchase
            key = (kind, t["member_id"])  # is forfeited under its own reference
        else:
            key = (kind, reference)
        entry = net.setdefault(key, [t["member_id"], 0])
        entry[1] += points
    return {k: {"member_id": m, "points": p} for k, (m, p) in net.items()}


async def _points_tiers(conn: asyncpg.Connection, world: World) -> dict[Key, Any]:
    """Points' tiers by effective date, as the tier in force from each change on: a day
    announced and then corrected back to the tier before it changes nothing there."""
    rows = await conn.fetch(
        f'SELECT member_id, effective_date, tier FROM "{world.schema("points")}".member_tiers'
        " ORDER BY member_id, effective_date")
    out: dict[Key, Any] = {}
    for row in rows:
        history = out.setdefault((row["member_id"],), [])
        if not history or history[-1][1] != row["tier"]:
            history.append((row["effective_date"], row["tier"]))
    return {k: tuple(v) for k, v in out.items()}


async def _refusals(conn: asyncpg.Connection, world: World) -> dict[Key, Any]:
    """Answers of requests that made no redemption (refusals, cancellations): status and the
    error code or the redemption's status."""
    rows = await conn.fetch(
        f'SELECT partner_id, key, status_code, body FROM "{world.schema("rewards")}".idempotency'
        " WHERE redemption_id IS NULL")
    out = {}
    for row in rows:
        body = json.loads(row["body"]) if row["body"] else {}
        out[(row["partner_id"], row["key"])] = (row["status_code"],
                                                body.get("code") or body.get("status"))
    return out


async def outbox_rows(world: World, database_url: str,
                      services: Sequence[str] = SERVICES) -> dict[str, int] | None:
    """Rows each service's outbox still holds; None while the database does not answer."""
    with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
        conn = await asyncpg.connect(database_url, timeout=5)
        try:
            return {s: await conn.fetchval(f'SELECT count(*) FROM "{world.schema(s)}".outbox')
                    for s in services}
        finally:
            await conn.close()
    return None


async def processed(world: World, database_url: str) -> dict[str, int]:
    """Events each service applied (its inbox: one row per event id it took; points'
    purchases skip the inbox, their earnings keep the event that earned instead)."""
    conn = await asyncpg.connect(database_url)
    try:
        return {s: await conn.fetchval(
                    f'SELECT (SELECT count(*) FROM "{world.schema(s)}".inbox)' + (
                        f' + (SELECT count(*) FROM "{world.schema(s)}".earnings'
                        ' WHERE event_id IS NOT NULL)' if s == "points" else ""))
                for s in SERVICES}
    finally:
        await conn.close()


async def interrupted_sends(world: World, database_url: str) -> set[str]:
    """Messages whose sender was killed during the provider call: the SMS provider asked,
    and sent again only when it had not got it (attempt code 'not_received'); WeChat's
    settled as sent unasked (services/notifications/handlers/sender.py)."""
    conn = await asyncpg.connect(database_url)
    try:
        return {str(r[0]) for r in await conn.fetch(
            f'SELECT id FROM "{world.schema("notifications")}".messages'
            " WHERE reason = 'interrupted' OR id IN (SELECT message_id FROM"
            f' "{world.schema("notifications")}".message_attempts'
            " WHERE code = 'not_received')")}
    finally:
        await conn.close()
