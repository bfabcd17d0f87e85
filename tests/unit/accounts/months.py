"""Feeding a member's facts to the tier rules the way the service does: each arrival has the
timeline decided again (domain/tiers.py), and what the announced history lacks announced
(domain/corrections.py)."""

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from services.accounts.domain.corrections import announcements
from services.accounts.domain.programme import TierProgramme
from services.accounts.domain.tiers import (
    Override,
    TierChange,
    TierFacts,
    TierState,
    timeline,
)

ENROLLED = date(2025, 12, 15)
TODAY = date(2026, 1, 10)

#: Amounts (CNY) by the tier they qualify for.
STANDARD, GOLD, OTO, PRIVATE = (Decimal("1000"), Decimal("80000"), Decimal("800000"),
                                Decimal("7000000"))


def facts(snapshots: list[tuple[str, Decimal]] = (), overrides: tuple[Override, ...] = (),
          enrolled: date = ENROLLED) -> TierFacts:
    """The first delivery of each month is kept (as in the table)."""
    assets: dict[str, Decimal] = {}
    for month, amount in snapshots:
        assets.setdefault(month, amount)
    return TierFacts(enrolled, assets, overrides)


@dataclass(frozen=True)
class Decision:
    """What one new fact did: the status it leads to and what it announced."""

    state: TierState
    changes: list[TierChange]

    @property
    def change(self) -> TierChange | None:
        assert len(self.changes) <= 1, self.changes
        return self.changes[0] if self.changes else None


def decide(programme: TierProgramme, before: TierFacts, after: TierFacts,
           today: date = TODAY, then: date = TODAY) -> Decision:
    """`after` on `today`, once everything `before` decided on `then` was announced."""
    announced = {c.effective_date: c.new_tier
                 for c in timeline(before, min(then, today), programme).changes}
    line = timeline(after, today, programme)
    return Decision(line.state, announcements(announced, line, after.overrides))


def feed(programme: TierProgramme, snapshots: list[tuple[str, Decimal]],
         today: date = TODAY, enrolled: date = ENROLLED,
         ) -> tuple[TierState, list[TierChange]]:
    """Snapshots in arrival order, each deciding again; the first delivery of a month is
    kept. Returns the status and everything announced, in order."""
    known = facts(enrolled=enrolled)
    announced: dict[date, str] = {}
    state, changes = timeline(known, today, programme).state, []
    for month, assets in snapshots:
        if month in known.assets:
            continue  # a duplicate month changes nothing: the database keeps the first
        known = replace(known, assets={**known.assets, month: assets})
        line = timeline(known, today, programme)
        out = announcements(announced, line)
        announced.update((c.effective_date, c.new_tier) for c in out)
        state, changes = line.state, changes + out
    return state, changes


def summary(changes: list[TierChange]) -> list[tuple[str, str, str, str]]:
    return [(c.old_tier, c.new_tier, c.reason, c.effective_date.isoformat()) for c in changes]
