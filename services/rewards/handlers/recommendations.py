"""points.spending-profiled -> offers that fit: for each member's profile of this month, up
to three offers they can use (domain/recommendations.py) in one `offers.recommended`,
which notifications turns into one marketing message (with consent only).

Load, decide, save, emit in the batch's unit of work: the (member, month) is claimed in
`recommendations` first, so a profile re-sent under a new event id recommends nothing
again, and the event's id comes from (member, month). Offers are taken as they are on the
month's first day (today, if later), with the member's usage of that day's periods. A
closed member, a profile of a past month (a replay) or one with nothing that fits gets no
event; a member rewards has not heard of yet is taken at the tier of enrolment."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo

from contracts.points.v1 import PointsSpendingProfiled
from contracts.rewards.v1 import OffersRecommended, RecommendedOffer
from contracts.tiers import ENROLMENT_TIER
from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork

from ..domain.catalogue import CatalogueView
from ..domain.offers import period_key
from ..domain.recommendations import Member, english_title, recommend
from ..sql import recommendations as sql

log = logging.getLogger(__name__)


class Recommendations:
    """Spending profiles become one recommendation of offers per member and month."""

    def __init__(self, view: CatalogueView, zone: tzinfo,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.view = view
        self.zone = zone
        self.now = now

    async def __call__(self, uow: UnitOfWork, batch: list[Inbound]) -> None:
        now = self.now()
        this_month = period_key("month", now.astimezone(self.zone).date())
        profiles = {}
        for inbound in batch:
            p: PointsSpendingProfiled = inbound.event
            if p.month >= this_month:  # a later one: the points service's clock is ahead
                profiles[(p.member_id, p.month)] = inbound
            else:
                log.info("spending profile of %s for %s ignored in %s", p.member_id,
                         p.month, this_month)
        claimed = await sql.claim(uow.conn, list(profiles), now)
        picked: dict[tuple[str, str], list[str]] = {}
        for month in sorted({mo for _, mo in claimed}):
            # Usable on the month's first day, or today if later
            day = max(now.astimezone(self.zone).date(), date.fromisoformat(f"{month}-01"))
            keys = sorted(k for k in claimed if k[1] == month)
            picked |= await self._recommend(uow, [profiles[k] for k in keys], month, day, now)
        await sql.record(uow.conn, picked)

    async def _recommend(self, uow: UnitOfWork, profiles: list[Inbound], month: str,
                         day: date, now: datetime) -> dict[tuple[str, str], list[str]]:
        ids = [i.event.member_id for i in profiles]
        members = await sql.members(uow.conn, ids)
        used = await sql.usage(uow.conn, ids, [period_key(p, day)
                                               for p in ("day", "month", "year")])
        offers = list(self.view.offers.values())
        picked: dict[tuple[str, str], list[str]] = {}
        for inbound in profiles:
            profile: PointsSpendingProfiled = inbound.event
            member_id = profile.member_id
            row = members.get(member_id)
            if row is not None and row["closed"]:
                continue
            member = Member(tier=row["tier"] if row else ENROLMENT_TIER, city=profile.city,
                            interests=[(i.industry, i.purchases) for i in profile.industries])
            chosen = recommend(offers, member, day, used.get(member_id, {}))
            if not chosen:
                continue
            picked[(member_id, month)] = [o.id for o in chosen]
            uow.emit(OffersRecommended(
                member_id=member_id, month=month, recommended_at=now,
                offers=[RecommendedOffer(offer_id=o.id, merchant=o.merchant,
                                         industry=o.industry, title=o.title,
                                         title_en=english_title(o)) for o in chosen]),
                inbound, key=("offers-recommended", member_id, month))
        return picked
