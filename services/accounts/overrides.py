"""Manual tier overrides: set or withdrawn by staff over HTTP, ended by time. Not caused
by a consumed event, so each runs its own transaction and writes its events to the outbox
itself (runtime.outbox), in the same transaction as the state change.

An override ends the day after its `until` date; that is noticed by the next asset
snapshot of the member (handlers.OnAssetSnapshots) and by a periodic check
(`end_due_overrides`, every OVERRIDE_CHECK_SECONDS), whichever comes first: both give the
tier-changed event the same id, so it is published once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from contracts.envelope import encode
from runtime import outbox
from runtime.periodic import repeat

from . import accounts_sql
from .accounts_sql import RecordedChange
from .domain import tiers
from .domain.programme import Tier, TierProgramme
from .domain.tiers import Override, TierChange, TierState
from .handlers import Clock, tier_changed, utc_now

log = logging.getLogger(__name__)


class UnknownMember(LookupError):
    """No active member with this id."""


@dataclass(frozen=True, slots=True)
class OverrideResult:
    state: TierState
    change: TierChange | None


class Overrides:
    def __init__(self, pool: asyncpg.Pool, programme: TierProgramme, source: str,
                 clock: Clock = utc_now) -> None:
        self.pool = pool
        self.programme = programme
        self.source = source
        self.clock = clock

    def today(self, now: datetime) -> date:
        return now.astimezone(self.programme.zone).date()

    async def set(self, member_id: str, tier: Tier, until: date, reason: str,
                  staff_id: str) -> OverrideResult:
        """Raises UnknownMember, or ValueError for an `until` in the past."""
        now = self.clock()
        today = self.today(now)
        if until < today:
            raise ValueError("until must be today or later")
        async with self.pool.acquire() as conn, conn.transaction():
            state = await self._state(conn, member_id)
            if state.override:
                await accounts_sql.end_overrides(conn, [state.override.id], "replaced", staff_id)
            override_id = await accounts_sql.insert_override(conn, member_id, tier, until,
                                                             reason, staff_id)
            decision = tiers.set_override(state, Override(override_id, tier, until), today)
            await self._save(conn, member_id, decision.state, decision.change, now)
        log.info("tier override %d for member %s by staff %s: %s until %s",
                 override_id, member_id, staff_id, tier, until)
        return OverrideResult(decision.state, decision.change)

    async def withdraw(self, member_id: str, staff_id: str) -> OverrideResult:
        """End the member's override today; raises UnknownMember, or LookupError when there
        is no override."""
        now = self.clock()
        async with self.pool.acquire() as conn, conn.transaction():
            state = await self._state(conn, member_id)
            if state.override is None:
                raise LookupError("no override in force")
            decision = tiers.end_override(state, self.today(now), early=True)
            await accounts_sql.end_overrides(conn, [state.override.id], "withdrawn", staff_id)
            await self._save(conn, member_id, decision.state, decision.change, now)
        log.info("tier override %d for member %s withdrawn by staff %s",
                 state.override.id, member_id, staff_id)
        return OverrideResult(decision.state, decision.change)

    async def end_due(self, limit: int = 500) -> int:
        """End the overrides whose last day has passed; returns how many ended."""
        now = self.clock()
        today = self.today(now)
        async with self.pool.acquire() as conn, conn.transaction():
            due = await accounts_sql.members_with_ended_overrides(conn, today, limit)
            if not due:
                return 0
            await accounts_sql.lock_members(conn, due)
            states = await accounts_sql.tier_states(conn, due)  # re-read under the lock
            ended, changed, recorded, encoded = [], {}, [], []
            for member_id, state in sorted(states.items()):
                decision = tiers.end_override(state, today)
                if decision.state == state:
                    continue  # another instance got there first
                ended.append(state.override.id)
                changed[member_id] = decision.state
                if decision.change:
                    out = tier_changed(member_id, decision.change, now, None)
                    recorded.append(RecordedChange(member_id, decision.change, now, out.id))
                    encoded.append(encode(out.event, source=self.source, id=out.id))
            await accounts_sql.save_tier_states(conn, changed)
            await accounts_sql.end_overrides(conn, ended, "expired")
            await accounts_sql.record_tier_changes(conn, recorded)
            await outbox.write(conn, encoded)
        if ended:
            log.info("%d tier overrides ended", len(ended))
        return len(ended)

    async def run_periodic_check(self, every_seconds: float) -> None:
        """The background task: end due overrides until cancelled; failures are logged and
        retried at the next round."""
        await repeat(self._end_all_due, every_seconds, "ending due tier overrides")

    async def _end_all_due(self) -> None:
        while await self.end_due() == 500:
            pass  # more are waiting

    async def _state(self, conn: asyncpg.Connection, member_id: str) -> TierState:
        await accounts_sql.lock_members(conn, [member_id])
        state = (await accounts_sql.tier_states(conn, [member_id])).get(member_id)
        if state is None:
            raise UnknownMember(member_id)
        return state

    async def _save(self, conn: asyncpg.Connection, member_id: str, state: TierState,
                    change: TierChange | None, now: datetime) -> None:
        await accounts_sql.save_tier_states(conn, {member_id: state})
        if change:
            out = tier_changed(member_id, change, now, None)
            await accounts_sql.record_tier_changes(
                conn, [RecordedChange(member_id, change, now, out.id)])
            await outbox.write(conn, [encode(out.event, source=self.source, id=out.id)])

