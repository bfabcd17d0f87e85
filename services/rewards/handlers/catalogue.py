"""Staff changes to the catalogue, and the view of it every instance keeps.

A change (create, change or schedule, withdraw) is one transaction: take the catalogue's
next version (its row lock orders concurrent changes), load the entry, decide (domain/
catalogue.py), save the entry with its audit row, and emit `catalogue.entry-changed`,
keyed by the entry's partner, through the outbox.

Every instance redeems and browses from its view in memory and keeps it current by the
database, not by consuming the events: each checks the catalogue's version every
CATALOGUE_REFRESH_SECONDS and loads the entries changed since the version it holds. The
events are for those outside the service (partners' systems, reports); an instance
consuming them would need a consumer group of its own per instance, which the runtime's
consumers (one group per service, one inbox per schema) do not have, and would still need
the database at start. An instance that made a change refreshes at once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import asyncpg

from runtime.unit_of_work import unit_of_work

from ..domain import catalogue as domain
from ..domain.catalogue import CatalogueView, Entry, Kind
from ..sql import catalogue as sql

log = logging.getLogger(__name__)


class Catalogue:
    def __init__(self, *, service: str, pool: asyncpg.Pool, view: CatalogueView) -> None:
        self.service = service
        self.pool = pool
        self.view = view

    async def refresh(self) -> int:
        """Load what changed since the view's version, if the version moved; the entries
        loaded."""
        if await sql.current_version(self.pool) == self.view.version:
            return 0
        entries, upto = await sql.changed_since(self.pool, self.view.version)
        self.view.apply(entries, upto)
        if entries:
            log.info("catalogue: %d entries reloaded, now at version %d", len(entries), upto)
        return len(entries)

    async def create(self, entry: Entry, staff_id: str, reason: str | None) -> Entry:
        return await self._record(entry.kind, entry.id, staff_id, reason,
                                  lambda existing, version, now: domain.create(
                                      existing, entry, version, now))

    async def change(self, kind: Kind, entry_id: str, fields: dict[str, Any], staff_id: str,
                     reason: str | None) -> Entry:
        return await self._record(kind, entry_id, staff_id, reason,
                                  lambda existing, version, now: domain.change(
                                      existing, kind, entry_id, fields, version, now))

    async def withdraw(self, kind: Kind, entry_id: str, staff_id: str,
                       reason: str | None) -> Entry:
        return await self._record(kind, entry_id, staff_id, reason,
                                  lambda existing, version, now: domain.withdraw(
                                      existing, kind, entry_id, version, now))

    async def _record(self, kind: Kind, entry_id: str, staff_id: str, reason: str | None,
                      decide) -> Entry:
        now = datetime.now(UTC)
        async with unit_of_work(self.pool, service=self.service) as uow:
            version = await sql.next_version(uow.conn)
            recorded = decide(await sql.entry(uow.conn, kind, entry_id), version, now)
            await sql.save(uow.conn, recorded, staff_id, reason, now)
            uow.emit(recorded.event, key=("catalogue", version))
        await self.refresh()
        return recorded.entry
