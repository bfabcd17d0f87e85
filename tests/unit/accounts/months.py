"""Feeding a member's snapshots to the tier rules, the way the service does."""

from datetime import date
from decimal import Decimal

from services.accounts.domain.programme import TierProgramme
from services.accounts.domain.tiers import TierChange, TierState, on_snapshot

ENROLLED = date(2025, 12, 15)
TODAY = date(2026, 1, 10)

#: Amounts (CNY) by the tier they qualify for.
STANDARD, GOLD, OTO, PRIVATE = (Decimal("1000"), Decimal("80000"), Decimal("800000"),
                                Decimal("7000000"))


def feed(programme: TierProgramme, snapshots: list[tuple[str, Decimal]],
         state: TierState | None = None, today: date = TODAY,
         ) -> tuple[TierState, list[TierChange]]:
    """Snapshots in arrival order; the first delivery of a month is kept (as in the table)."""
    state = state or TierState.enrolled(ENROLLED)
    history: dict[str, Decimal] = {}
    changes = []
    for month, assets in snapshots:
        if month in history:
            continue  # a duplicate month changes nothing: the database keeps the first
        history[month] = assets
        decision = on_snapshot(state, history, month, today, programme)
        state = decision.state
        if decision.change:
            changes.append(decision.change)
    return state, changes


def summary(changes: list[TierChange]) -> list[tuple[str, str, str, str]]:
    return [(c.old_tier, c.new_tier, c.reason, c.effective_date.isoformat()) for c in changes]
