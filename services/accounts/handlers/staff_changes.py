"""Maker-checker of staff changes (api.py): a change above the configured size is proposed
by one staff member (kept in staff_changes) and applied when another, with the approver
role, approves it; the override it makes records both (tier_overrides.staff_id and
approved_by). Runs in the request's unit of work."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime

import asyncpg

from runtime.unit_of_work import UnitOfWork

from ..domain.programme import TierProgramme
from ..sql import staff_changes as sql
from . import tier_override
from .tier_override import Outcome

log = logging.getLogger(__name__)


class Refusal(Exception):
    """Why a staff change cannot be decided by this staff member now."""


class NoSuchChange(Refusal):
    """No staff change with this id."""


class AlreadyDecided(Refusal):
    """The change was approved or rejected before."""


class OwnChange(Refusal):
    """The staff member proposed this change: another one must decide it."""


async def propose_override(conn: asyncpg.Connection, member_id: str, tier: str, until: date,
                           reason: str, staff_id: str) -> asyncpg.Record:
    change = await sql.propose(conn, "tier_override", member_id,
                               {"tier": tier, "until": until.isoformat(), "reason": reason},
                               staff_id)
    log.info("staff change %d (tier override of member %s to %s) proposed by %s: waiting"
             " for a second approver", change["id"], member_id, tier, staff_id)
    return change


async def approve(uow: UnitOfWork, programme: TierProgramme, change_id: int, approver: str,
                  now: datetime) -> tuple[asyncpg.Record, Outcome]:
    """Apply the proposed override, audited with both staff ids. Raises NoSuchChange,
    AlreadyDecided, OwnChange, or what set_override raises (the change stays pending)."""
    change = await _pending(uow.conn, change_id, approver)
    request = json.loads(change["request"])
    outcome = await tier_override.set_override(
        uow, programme, change["member_id"], request["tier"],
        date.fromisoformat(request["until"]), request["reason"], change["proposed_by"], now,
        approved_by=approver)
    decided = await sql.decide(uow.conn, change_id, "approved", approver)
    log.info("staff change %d approved by %s", change_id, approver)
    return decided, outcome


async def reject(conn: asyncpg.Connection, change_id: int, approver: str) -> asyncpg.Record:
    await _pending(conn, change_id, approver)
    log.info("staff change %d rejected by %s", change_id, approver)
    return await sql.decide(conn, change_id, "rejected", approver)


async def _pending(conn: asyncpg.Connection, change_id: int, approver: str) -> asyncpg.Record:
    change = await sql.locked(conn, change_id)
    if change is None:
        raise NoSuchChange(change_id)
    if change["status"] != "pending":
        raise AlreadyDecided(change["status"])
    if change["proposed_by"] == approver:
        raise OwnChange(approver)
    return change
