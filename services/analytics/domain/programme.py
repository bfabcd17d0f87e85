"""One month's ProgrammeFigures from the read models' History: every measure of domain/
over the `count` months ending with the report's month."""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from contracts.tiers import TIERS

from . import months as m
from .calls import calls
from .engagement import active_members, lounge_use, reach, redemptions_by_kind
from .figures import ALL, ProgrammeFigures, ValuableMember
from .groups import counts, moves
from .history import History, Member
from .model import Model
from .points import breakage_rate, points_months
from .retention import retention, retention_rates
from .stages import STAGES, stage
from .value import average_margin, distribution, lifetime_value


class Valuation:
    """Lifetime values at a month, with the tiers' retention rates of the report."""

    def __init__(self, rates: dict[str, float], model: Model) -> None:
        self.rates = rates
        self.model = model

    def value(self, member: Member, month: str) -> Decimal:
        rate = self.rates.get(member.tier(month), self.rates.get(ALL, 0.0))
        return lifetime_value(average_margin(member, month, self.model), rate, self.model)

    def ranked(self, members: list[Member], month: str) -> list[tuple[Member, Decimal]]:
        """Members open at the month's end, most valuable first (ties by member id)."""
        valued = [(x, self.value(x, month)) for x in members if x.open_at_end(month)]
        return sorted(valued, key=lambda pair: (-pair[1], pair[0].member_id))


def figures(history: History, month: str, count: int, model: Model) -> ProgrammeFigures:
    members = list(history.members.values())
    months = m.series(month, count)
    tiers = list(TIERS)

    @cache
    def stage_of(member_id: str, at: str) -> str:
        return stage(history.members[member_id], at, model)

    def staged(member: Member, at: str) -> str:
        return stage_of(member.member_id, at)

    kept = retention(members, months, tiers, model.churn_inactive_months)
    valuation = Valuation(retention_rates(kept), model)
    ranked = valuation.ranked(members, month)
    by_tier = {tier: [v for x, v in ranked if x.tier(month) == tier] for tier in tiers}
    top = ranked[:model.most_valuable]
    top_before = {x.member_id
                  for x, _ in valuation.ranked(members, m.add(month, -1))[:model.most_valuable]}
    period_points = points_months(history.points, months, model.point_value_cny)
    active = active_members(members, months)
    return ProgrammeFigures(
        month=month, months=months, tiers=tiers,
        retention=kept,
        lifetime_value=[distribution(t, by_tier[t]) for t in tiers]
        + [distribution(ALL, [v for _, v in ranked])],
        stages=counts(members, months, STAGES, staged),
        stage_moves=moves(members, months, staged),
        tier_mix=counts(members, months, tiers, Member.tier),
        tier_moves=moves(members, months, Member.tier),
        points=period_points,
        breakage_rate=breakage_rate(period_points),
        redemptions=redemptions_by_kind(history.redemptions, months, active),
        lounges=lounge_use(history.redemptions, months, history.cities),
        reach=reach(members, months),
        most_valuable=[ValuableMember(rank, x.member_id, x.tier(month), value,
                                      staged(x, month))
                       for rank, (x, value) in enumerate(top, start=1)],
        calls=calls(members, month, model, staged, top_before, valuation.value),
    )
