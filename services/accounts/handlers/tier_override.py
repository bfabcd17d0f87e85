"""The staff's tier override over HTTP (api.py): set until a date, or withdrawn today.
Audited in tier_overrides with the staff id and reason; the override is a fact the tiers are
decided from (handlers/timelines.py), a tier change announced as member.tier-changed. Runs
in the request's unit of work."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from contracts.tiers import Tier
from runtime.unit_of_work import UnitOfWork

from ..domain import tiers
from ..domain.programme import TierProgramme
from ..domain.tiers import Override, TierState
from ..sql import overrides as sql
from ..sql.members import lock_members
from .timelines import Retiering

log = logging.getLogger(__name__)


class UnknownMember(LookupError):
    """No active member with this id."""


@dataclass(frozen=True, slots=True)
class Outcome:
    state: TierState
    #: Whether the effective tier changed (and was announced).
    changed: bool


async def set_override(uow: UnitOfWork, programme: TierProgramme, member_id: str, tier: Tier,
                       until: date, reason: str, staff_id: str, now: datetime,
                       approved_by: str | None = None) -> Outcome:
    """The member has `tier` from today until `until` (inclusive); a newer override
    replaces an older one. `approved_by`: the second staff member of a large change
    (handlers/staff_changes.py). Raises UnknownMember, or ValueError for an `until` in the
    past."""
    today = programme.day_of(now)
    if until < today:
        raise ValueError("until must be today or later")
    retiering = await _load(uow, programme, member_id, now)
    facts = retiering.facts(member_id)
    in_force = [o.id for o in facts.overrides if o.end(today) is None]
    await sql.end_overrides(uow.conn, in_force, "replaced", staff_id, today)
    override_id = await sql.insert_override(uow.conn, member_id, tier, today, until, reason,
                                            staff_id, approved_by)
    facts = tiers.with_override(facts, Override(override_id, tier, until, today))
    outcome = await _decide(retiering, member_id, facts)
    log.info("tier override %d for member %s by staff %s: %s until %s",
             override_id, member_id, staff_id, tier, until)
    return outcome


async def withdraw_override(uow: UnitOfWork, programme: TierProgramme, member_id: str,
                            staff_id: str, now: datetime) -> Outcome:
    """End the member's override today; raises UnknownMember, or LookupError when there is
    no override."""
    today = programme.day_of(now)
    retiering = await _load(uow, programme, member_id, now)
    facts = retiering.facts(member_id)
    in_force = [o.id for o in facts.overrides if o.end(today) is None]
    if not in_force:
        raise LookupError("no override in force")
    await sql.end_overrides(uow.conn, in_force, "withdrawn", staff_id, today)
    outcome = await _decide(retiering, member_id, tiers.without_override(facts, today))
    log.info("tier override %s for member %s withdrawn by staff %s",
             ", ".join(map(str, in_force)), member_id, staff_id)
    return outcome


async def _load(uow: UnitOfWork, programme: TierProgramme, member_id: str,
                now: datetime) -> Retiering:
    await lock_members(uow.conn, [member_id])
    retiering = await Retiering.load(uow, programme, now, [member_id])
    if member_id not in retiering.members:
        raise UnknownMember(member_id)
    return retiering


async def _decide(retiering: Retiering, member_id: str, facts: tiers.TierFacts) -> Outcome:
    changed = retiering.decide(member_id, None, facts)
    await retiering.save()
    return Outcome(retiering.state(member_id), bool(changed))
