"""The monthly spending profiles (app.py runs it every SPENDING_PROFILE_CHECK_SECONDS): on
the first run of a month (Asia/Shanghai), every member who bought in the 90 days before
it gets one `points.spending-profiled`: their purchases counted and summed by the
catalogue's industries (domain/spending.py) and the city they buy in most. Rewards turns it
into offers that fit; no transaction leaves the service.

A chunk of members per unit of work: the month's run row (sql/spending.py `claim`) is
locked by the chunk's transaction and its cursor moves in it, so each member is published
once, however many instances run the job and whenever one crashes; a month whose run is
done is not run again. The events' ids come from (member, month) all the same."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import groupby

from contracts.points.v1 import IndustrySpend, PointsSpendingProfiled

from ..domain.spending import PROFILE_DAYS, by_industry, first_of_month, month_key
from ..sql import spending as sql
from .expiry import Units

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpendingProfiles:
    zone: tzinfo
    #: Members per transaction.
    chunk: int = 1_000

    async def run(self, units: Units, today: date, now: datetime | None = None) -> int:
        """Publish the month of `today`'s profiles if no instance has; the number published
        by this run."""
        now = now or datetime.now(UTC)
        month = first_of_month(today)
        until = datetime.combine(month, time(), self.zone)
        since = until - timedelta(days=PROFILE_DAYS)
        published = 0
        while True:
            async with units() as uow:
                after = await sql.claim(uow.conn, month)
                if after is None:  # done, or another instance is at it
                    return published
                rows = await sql.purchases_by_mcc(uow.conn, since, until, after, self.chunk)
                members = [(m, list(g)) for m, g in groupby(rows, key=lambda r: r["member_id"])]
                cities = await sql.main_cities(uow.conn, [m for m, _ in members], since, until)
                for member_id, purchases in members:
                    uow.emit(_profile(member_id, month, purchases, cities.get(member_id), now),
                             key=("spending-profiled", member_id, month_key(month)))
                done = len(members) < self.chunk
                await sql.advance(uow.conn, month, members[-1][0] if members else after,
                                  len(members), done)
            published += len(members)
            if done:
                log.info("spending profiles of %s: %d published by this instance",
                         month_key(month), published)
                return published


def _profile(member_id: str, month: date, purchases: list, city: str | None,
             now: datetime) -> PointsSpendingProfiled:
    totals = by_industry((r["mcc"], r["purchases"], r["spend"]) for r in purchases)
    return PointsSpendingProfiled(
        member_id=member_id, month=month_key(month), days=PROFILE_DAYS,
        industries=[IndustrySpend(industry=t.industry, purchases=t.purchases,
                                  spend_cny=t.spend_cny) for t in totals],
        city=city, profiled_at=now)
