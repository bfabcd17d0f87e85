"""Deciding members' tiers again from all their facts: the one way a tier changes. Every
input that brings a fact (a snapshot, an enrolment, an override set or withdrawn, an
override's last day passing, a tier review run: handlers/reviews.py) ends here, under the
members' lock (sql.members.lock_members): load the facts (sql/), fold them into the
timeline (domain/tiers.py), announce what the announced history lacks
(domain/corrections.py) as member.tier-changed (events.py), and save the timeline, the tier
status and the audit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import asyncpg

from contracts.tiers import Tier
from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork

from ..domain.corrections import announcements
from ..domain.programme import TierProgramme
from ..domain.tiers import TierChange, TierFacts, TierState, Timeline, timeline
from ..sql import members as members_sql
from ..sql import overrides as overrides_sql
from ..sql import reviews as reviews_sql
from ..sql import snapshots as snapshots_sql
from ..sql import tiers as tiers_sql
from ..sql import timeline as sql
from ..sql.timeline import RecordedChange
from .events import emit_tier_change


async def load_facts(conn: asyncpg.Connection, programme: TierProgramme,
                     member_ids: Sequence[str], *, closed: bool = False) -> dict[str, TierFacts]:
    """The facts of those of the members that are active (with `closed`, closed too): the
    enrolment, the asset history, the overrides and the reviews run (sql/reviews.py)."""
    enrolled = await members_sql.enrolments(conn, sorted(set(member_ids)), closed=closed)
    ids = sorted(enrolled)
    if not ids:
        return {}
    assets = await snapshots_sql.asset_histories(conn, ids)
    overrides = await overrides_sql.overrides_of(conn, ids)
    # The monthly cadence counts no review (domain/reviews.py): none to read.
    reviews = (frozenset(await reviews_sql.reviews_run(conn))
               if programme.review.cadence == "yearly" else frozenset())
    return {m: TierFacts(programme.day_of(enrolled[m]), assets.get(m, {}),
                         tuple(overrides.get(m, ())), reviews) for m in ids}


@dataclass(slots=True)
class _Member:
    facts: TierFacts
    before: TierState | None          # the tier status saved
    recorded: tuple[TierChange, ...]  # the timeline saved
    announced: dict[date, Tier]       # the last word announced for each day
    times: dict[date, int]            # how many announcements each day has had
    line: Timeline | None = None      # decided in this unit of work


@dataclass(slots=True)
class Retiering:
    """One unit of work's members: `load` them, `decide` each (as often as facts come),
    `save` once."""

    uow: UnitOfWork
    programme: TierProgramme
    now: datetime
    members: dict[str, _Member] = field(default_factory=dict)
    audit: list[RecordedChange] = field(default_factory=list)

    @classmethod
    async def load(cls, uow: UnitOfWork, programme: TierProgramme, now: datetime,
                   member_ids: Sequence[str], *, closed: bool = False) -> Retiering:
        """The facts and what was saved and announced of those members that are active,
        and with `closed` (a fact about the past: a snapshot, the enrolment) those closed
        too: a month that arrives after the closure counts as if it had come before it, and
        is announced so, whatever order the topics deliver (a staff override or an
        override's end is for active members only). The caller holds their lock."""
        conn, retiering = uow.conn, cls(uow, programme, now)
        facts = await load_facts(conn, programme, member_ids, closed=closed)
        ids = sorted(facts)
        if not ids:
            return retiering
        states = await tiers_sql.tier_states(conn, ids)
        recorded = await sql.timelines(conn, ids)
        announced = await sql.announced(conn, ids)
        for m in ids:
            days = announced.get(m, {})
            retiering.members[m] = _Member(
                facts[m], states.get(m), recorded.get(m, ()),
                {day: a.tier for day, a in days.items()},
                {day: a.times for day, a in days.items()})
        return retiering

    @property
    def today(self) -> date:
        return self.programme.day_of(self.now)

    def facts(self, member_id: str) -> TierFacts:
        return self.members[member_id].facts

    def decide(self, member_id: str, cause: Inbound | None,
               facts: TierFacts | None = None) -> list[TierChange]:
        """The member's timeline from `facts` (by default those loaded); announces and
        returns what the announced history lacks."""
        member = self.members[member_id]
        member.facts = facts or member.facts
        member.line = timeline(member.facts, self.today, self.programme)
        out = announcements(member.announced, member.line, member.facts.overrides)
        for change in out:
            day = change.effective_date
            revision = member.times.get(day, 0)
            event_id = emit_tier_change(self.uow, member_id, change, self.now, cause, revision)
            member.times[day] = revision + 1
            member.announced[day] = change.new_tier
            self.audit.append(RecordedChange(member_id, change, self.now, event_id))
        return out

    def state(self, member_id: str) -> TierState:
        member = self.members[member_id]
        assert member.line is not None, "decide first"
        return member.line.state

    async def save(self) -> list[int]:
        """Saves what changed; returns the overrides that ran out (now ended)."""
        conn = self.uow.conn
        decided = {m: (member, member.line) for m, member in self.members.items()
                   if member.line is not None}
        await tiers_sql.save_tier_states(conn, {
            m: line.state for m, (member, line) in decided.items() if line.state != member.before})
        await sql.replace_timelines(conn, {
            m: line.changes for m, (member, line) in decided.items()
            if line.changes != member.recorded})
        await sql.record_tier_changes(conn, self.audit)
        ran_out = sorted(
            member.before.override.id for member, line in decided.values()
            if member.before and member.before.override
            and (line.state.override is None or line.state.override.id
                 != member.before.override.id))
        if ran_out:
            await overrides_sql.end_overrides(conn, ran_out, "expired")
        return ran_out
