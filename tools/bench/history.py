"""A large points history, COPY-loaded into a fresh points schema for the benchmarks
(`tools/bench/points.py --history-members`, `tools/bench/expiry.py`).

    await load_history(database_url, schema, History(members=500_000, transfers=5_000_000,
                                                     include=bench_customers))

What a member's history holds, over the last three calendar years (Y = this year in the
programme's zone), consistent so the invariant check holds (services/points/sql/ledger.py):
- purchases: an `earnings` row and an `earn` transfer each, dated in Y-2, Y-1 or Y, their
  points in the lot of the year after (domain/earning.py: the end of the following year);
- the Y-2 purchases' lot expired at the start of Y (an `expire` transfer, the lot at 0), or
  with `due=True` it is still open and due (the expiry benchmark's year end);
- a redemption that took half of the Y-1 lot (`debits`, `debit_lots`, a `debit` transfer);
- a tier row for every tenth member (gold since Y-1); balances and accounts to match.
`transfers` counts purchases and one expiry and one redemption a member (in all, fewer
with `due`: no expiry yet; at least a purchase a member). Transaction ids
look like core banking's (`T` and 20 digits) and are spread over the same range, so new
purchases land all over the indexes as they would in production.

Fast: rows are generated in key order and streamed as COPY text, the indexes that no
constraint needs are dropped first and built again from their own definitions (as the
migrations made them) once the rows are in; then VACUUM ANALYZE, as an old table would be.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from math import gcd
from zoneinfo import ZoneInfo

import asyncpg

from runtime import db
from services.points.app import PACKAGE_DIR
from services.points.domain.ledger import expiry_reference

SHANGHAI = ZoneInfo("Asia/Shanghai")
TABLES = ("accounts", "balances", "lots", "transfers", "earnings", "debits", "debit_lots",
          "member_tiers")
_CHUNK_LINES = 20_000


@dataclass(frozen=True)
class History:
    members: int
    transfers: int
    #: Member ids that must be among the members (the benchmark's customers).
    include: frozenset[str] = frozenset()
    #: The oldest lot still open and past its day (for the expiry job), not yet expired.
    due: bool = False
    today: date | None = None

    @property
    def year(self) -> int:
        return (self.today or datetime.now(SHANGHAI).date()).year


async def load_history(database_url: str, schema: str, history: History,
                       log: Callable[[str], None] = print) -> dict[str, int]:
    """Create and migrate `schema`, load `history` into it; returns rows per table."""
    pool = await db.create_pool(database_url, schema, max_size=2)
    try:
        await db.migrate(pool, schema, db.migration_files(PACKAGE_DIR))
    finally:
        await pool.close()
    started = time.perf_counter()
    plan = _Plan(history)
    conn = await asyncpg.connect(database_url, server_settings={"search_path": schema})
    try:
        indexes = await _secondary_indexes(conn, schema)
        for name, _ in indexes:
            await conn.execute(f'DROP INDEX "{schema}"."{name}"')
        counts = {}
        for table, columns, lines in plan.tables():
            counts[table] = await _copy(conn, table, columns, lines)
        log(f"  history rows COPYed in {time.perf_counter() - started:.0f}s: {counts}")
        for _, definition in indexes:
            await conn.execute(definition)
        await conn.execute(f"VACUUM ANALYZE {', '.join(TABLES)}")
    finally:
        await conn.close()
    log(f"  history loaded with indexes and statistics in {time.perf_counter() - started:.0f}s")
    return counts


async def _secondary_indexes(conn: asyncpg.Connection, schema: str) -> list[tuple[str, str]]:
    """The loaded tables' indexes that back no constraint: (name, CREATE INDEX statement)."""
    return [tuple(row) for row in await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes i WHERE schemaname = $1"
        " AND tablename = ANY($2::text[]) AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
        "  WHERE c.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass)"
        " ORDER BY indexname", schema, list(TABLES))]


async def _copy(conn: asyncpg.Connection, table: str, columns: tuple[str, ...],
                lines: Iterator[str]) -> int:
    count = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal count
        buffer: list[str] = []
        for line in lines:
            buffer.append(line)
            if len(buffer) == _CHUNK_LINES:
                count += len(buffer)
                yield "".join(buffer).encode()
                buffer.clear()
        count += len(buffer)
        yield "".join(buffer).encode()

    await conn.copy_to_table(table, source=chunks(), columns=columns, format="text")
    return count


class _Plan:
    """Which member each purchase is, and what each member holds, computed once; the rows
    of each table are then generated in their primary key's order."""

    def __init__(self, h: History) -> None:
        self.h = h
        y = h.year
        self.lot_days = [date(y - 1, 12, 31), date(y, 12, 31), date(y + 1, 12, 31)]
        self.expired_at = datetime(y, 1, 1, 0, 5, tzinfo=SHANGHAI)
        self.members = _member_ids(h.members, h.include)
        m = len(self.members)
        self.purchases = max(h.transfers - 2 * m, m)
        # Purchase n belongs to member (n * stride) % m: spread, every member gets some.
        self.stride = next(p for p in range(7_919, 10**6, 2) if gcd(p, m) == 1)
        today = h.today or datetime.now(SHANGHAI).date()
        self.days = [[datetime(y - 2 + k, 1, 1, 12, tzinfo=SHANGHAI) + timedelta(days=d)
                      for d in range(365 if k < 2 else max((today - date(y, 1, 1)).days, 1))]
                     for k in range(3)]
        self.earned = [[0] * m for _ in range(3)]
        for n in range(self.purchases):
            self.earned[self.year(n)][(n * self.stride) % m] += _points(n)

    def year(self, n: int) -> int:
        """0, 1, 2 for Y-2, Y-1, Y: each block of m purchases gives every member one, so
        with three purchases a member or more, every member bought in each year."""
        return (n // len(self.members)) % 3

    def member(self, n: int) -> str:
        return self.members[(n * self.stride) % len(self.members)]

    def debited(self, i: int) -> int:
        return self.earned[1][i] // 2

    def lots(self, i: int) -> list[int]:
        """What is left in each of the member's lots (Y-2's, Y-1's, Y's purchases)."""
        return [self.earned[0][i] if self.h.due else 0,
                self.earned[1][i] - self.debited(i), self.earned[2][i]]

    def tier(self, i: int) -> str:
        return "gold" if i % 10 == 0 else "standard"

    def tables(self) -> Iterator[tuple[str, tuple[str, ...], Iterator[str]]]:
        members = list(enumerate(self.members))
        yield "accounts", ("id", "kind", "member_id"), (
            f"member:{m}\tmember\t{m}\n" for _, m in members)
        yield "balances", ("member_id", "points"), (
            f"{m}\t{sum(self.lots(i))}\n" for i, m in members)
        yield "lots", ("member_id", "expires_on", "remaining"), (
            f"{m}\t{day}\t{left}\n" for i, m in members
            for day, left, earned in zip(self.lot_days, self.lots(i),
                                         (e[i] for e in self.earned), strict=True) if earned)
        yield "member_tiers", ("member_id", "effective_date", "tier"), (
            f"{m}\t{self.h.year - 1}-01-01\tgold\n" for i, m in members if i % 10 == 0)
        yield "earnings", _EARNINGS, self._earnings()
        yield "debits", ("debit_id", "member_id", "points", "outcome"), (
            f"{_debit_id(i)}\t{m}\t{self.debited(i)}\tdebited\n"
            for i, m in members if self.debited(i))
        yield "debit_lots", ("debit_id", "member_id", "expires_on", "points"), (
            f"{_debit_id(i)}\t{m}\t{self.lot_days[1]}\t{self.debited(i)}\n"
            for i, m in members if self.debited(i))
        yield "transfers", _TRANSFERS, self._transfers()

    def _earnings(self) -> Iterator[str]:
        for n in range(self.purchases):
            i, k, points = (n * self.stride) % len(self.members), self.year(n), _points(n)
            yield (f"{_transaction_id(n, self.purchases)}\t{self.members[i]}\t5411\t{points}.00"
                   f"\t{points}\t{points}\t0\t1.0000\t{self.tier(i)}\t{{base-1-per-cny}}\t{{}}"
                   f"\t{self._day(n, k)}\t{self.lot_days[k]}\n")

    def _transfers(self) -> Iterator[str]:
        """By primary key (kind, reference): debits, purchases, expiries."""
        for i, m in enumerate(self.members):
            if points := self.debited(i):
                yield (f"debit\t{_debit_id(i)}\t{m}\tmember:{m}\tprogramme:redemption\t{points}"
                       f"\t{self.days[1][-1]}\n")
        for n in range(self.purchases):
            m = self.member(n)
            yield (f"earn\t{_transaction_id(n, self.purchases)}\t{m}\tprogramme:issuance"
                   f"\tmember:{m}\t{_points(n)}\t{self._day(n, self.year(n))}\n")
        if self.h.due:
            return
        for i, m in enumerate(self.members):
            if points := self.earned[0][i]:
                reference = expiry_reference(m, self.lot_days[0], self.expired_at)
                yield (f"expire\t{reference}\t{m}\tmember:{m}\tprogramme:expiry\t{points}"
                       f"\t{self.expired_at}\n")

    def _day(self, n: int, k: int) -> datetime:
        days = self.days[k]
        return days[n % len(days)]


_EARNINGS = ("transaction_id", "member_id", "mcc", "spend_cny", "points", "base_points",
             "bonus_points", "multiplier", "tier", "rule_ids", "caps_applied", "earned_at",
             "expires_on")
_TRANSFERS = ("kind", "reference", "member_id", "debit_account", "credit_account", "points",
              "occurred_at")


def _points(n: int) -> int:
    return 1 + (n * 7_919) % 400


def _transaction_id(n: int, total: int) -> str:
    """Core banking's format (T and 20 digits), increasing with n, spread over its range."""
    step = 10**20 // total
    return f"T{n * step + (n * 2_654_435_761) % step:020d}"


def _debit_id(i: int) -> str:
    return f"rdm_history_{i:09d}"


def _member_ids(count: int, include: frozenset[str]) -> list[str]:
    """`count` member ids in core banking's format (C and 10 digits), sorted: `include`
    and evenly spread others."""
    step = 10**10 // count
    ids = set(include)
    ids.update(f"C{i * step + (i * 40_503) % step:010d}" for i in range(count - len(include)))
    n = count
    while len(ids) < count:  # an included id was also generated
        ids.add(f"C{n * step // 2:010d}")
        n += 1
    return sorted(ids)[:count]
