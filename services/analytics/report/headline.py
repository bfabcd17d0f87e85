"""The report's headline figures: the programme as a whole in the report's month, with the
change from the month before where there is one."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.analytics.domain.figures import ALL, ProgrammeFigures


@dataclass(frozen=True, slots=True)
class Headline:
    #: Members in any tier at the month's end (the tier mix's total).
    members: int
    members_before: int | None
    retention_rate: float | None
    churn_rate: float | None
    breakage_rate: float
    #: Outstanding points at the month's end and their CNY value.
    outstanding: int | None
    liability: Decimal | None


def headline(f: ProgrammeFigures) -> Headline:
    previous = f.months[-2] if len(f.months) > 1 else None
    whole = next((r for r in f.retention if r.month == f.month and r.tier == ALL), None)
    points = next((p for p in f.points if p.month == f.month), None)
    return Headline(
        members=_members(f, f.month) or 0,
        members_before=_members(f, previous) if previous else None,
        retention_rate=whole.retention_rate if whole else None,
        churn_rate=whole.churn_rate if whole else None,
        breakage_rate=f.breakage_rate,
        outstanding=points.outstanding if points else None,
        liability=points.liability if points else None,
    )


def _members(f: ProgrammeFigures, month: str) -> int | None:
    counts = [c.members for c in f.tier_mix if c.month == month]
    return sum(counts) if counts else None
