"""Small hand-made histories for the measures' tests: members built from a month -> spend
table (and optional assets, redemptions, salons)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.analytics.domain.history import Activity, Member


def member(member_id: str, enrolled: str | None, *, tier: str = "standard",
           closed: str | None = None, spend: dict[str, int] | None = None,
           assets: dict[str, int] | None = None, changes: tuple[tuple[date, str], ...] = (),
           **counters: dict[str, int]) -> Member:
    """`spend` month -> CNY (a purchase each such month); `counters` e.g.
    redemptions={"2026-03": 1}, messages_sent={...}."""
    spend, assets = spend or {}, assets or {}
    months: dict[str, Activity] = {}
    for month in set(spend) | set(assets) | {k for c in counters.values() for k in c}:
        months[month] = Activity(
            purchases=1 if spend.get(month) else 0, spend=Decimal(spend.get(month, 0)),
            assets=Decimal(assets[month]) if month in assets else None,
            **{name: values.get(month, 0) for name, values in counters.items()})
    return Member(member_id, enrolled, tier, closed, changes, months)


def every(months: list[str], amount: int) -> dict[str, int]:
    return dict.fromkeys(months, amount)


JAN_APR = ["2026-01", "2026-02", "2026-03", "2026-04"]
