"""Campaigns as staff change them (api.py), and the rules in force for every batch.

`CurrentRules` gives a batch the programme file's rules with the campaigns stored now: it
reads the one-row campaign version in the batch's transaction and reloads the campaigns
only when the version moved. So every instance rates with a change from its next batch on,
without a restart, and one change costs each instance one reload.

`Campaigns` makes a staff change in the request's unit of work: the version row locked
(changes one at a time), the campaigns read, the rules (domain/campaigns.py) decide, the
campaign stored with its audit row and a new version. The file's campaigns are the starting
set: copied at start-up when their id is not stored yet (`seed`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

import asyncpg

from runtime.unit_of_work import UnitOfWork

from ..domain import campaigns as decide
from ..domain.rules import Campaign, EarningRules
from ..sql import campaigns as sql

log = logging.getLogger(__name__)


class CurrentRules:
    def __init__(self, file_rules: EarningRules) -> None:
        self.file_rules = file_rules
        self._held: tuple[int, EarningRules] | None = None

    async def load(self, conn: asyncpg.Connection) -> EarningRules:
        """The rules in force, as of `conn`'s transaction."""
        held = self._held
        if held is not None and held[0] == await sql.version(conn):
            return held[1]
        version, campaigns = await sql.current(conn)
        rules = self.file_rules.with_campaigns(campaigns)
        if held is None or version > held[0]:  # two batches may reload at once
            self._held = version, rules
            if held is not None:
                log.info("campaigns reloaded at version %d: %s", version,
                         ", ".join(c.id for c in campaigns) or "none")
        return rules

    @property
    def version(self) -> int | None:
        return self._held[0] if self._held else None


class Campaigns:
    """Staff changes: each returns the campaign stored and the new version, or raises
    domain/campaigns.py `Refused`."""

    def __init__(self, current: CurrentRules,
                 unit_of_work: Callable[[], AbstractAsyncContextManager[UnitOfWork]],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.current = current
        self.unit_of_work = unit_of_work
        self.clock = clock

    async def add(self, staff_id: str, data: Mapping[str, Any]) -> tuple[Campaign, int]:
        return await self._make(staff_id, lambda rules, now: decide.add(rules, data, now))

    async def change(self, staff_id: str, campaign_id: str,
                     updates: Mapping[str, Any]) -> tuple[Campaign, int]:
        return await self._make(staff_id, lambda rules, now: decide.change(
            rules, campaign_id, updates, now))

    async def end(self, staff_id: str, campaign_id: str) -> tuple[Campaign, int]:
        return await self._make(staff_id, lambda rules, now: decide.end(
            rules, campaign_id, now))

    async def seed(self) -> None:
        async with self.unit_of_work() as uow:
            await sql.current(uow.conn, lock=True)
            if seeded := await sql.seed(uow.conn, self.current.file_rules.campaigns,
                                        self.clock()):
                log.info("campaigns copied from the programme file: %s", ", ".join(seeded))

    async def _make(self, staff_id: str,
                    decision: Callable[[EarningRules, datetime], decide.Change]
                    ) -> tuple[Campaign, int]:
        async with self.unit_of_work() as uow:
            _, stored = await sql.current(uow.conn, lock=True)
            now = self.clock()
            change = decision(self.current.file_rules.with_campaigns(stored), now)
            version = await sql.save(uow.conn, change.action, staff_id, now, change.before,
                                     change.after)
        log.info("campaign %s %s by %s (version %d)", change.after.id, change.action,
                 staff_id, version)
        return change.after, version
