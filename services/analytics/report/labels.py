"""How the report names and orders things: tiers (contracts/tiers.py), lifecycle stages,
the reasons to call a member, colours, and numbers as people read them (percentages, CNY,
thousands)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from contracts.tiers import TIERS
from services.analytics.domain.calls import ENTERED_DECLINE, SHARP_DROP
from services.analytics.domain.figures import ALL
from services.analytics.domain.stages import STAGES

#: One colour per tier, kept in every chart; the programme as a whole in black.
TIER_COLOURS = {
    ALL: "#222222",
    "standard": "#5b8bd0",
    "gold": "#d4a017",
    "oto_fortune": "#c0392b",
    "private_banking": "#2c3e66",
}
STAGE_COLOURS = {"trial": "#8ecae6", "growth": "#52b788", "maturity": "#2d6a4f",
                 "decline": "#e76f51"}


def tier_label(tier: str) -> str:
    """"private_banking" -> "Private Banking"; "all" -> "All members"."""
    return "All members" if tier == ALL else tier.replace("_", " ").title()


#: Why a member is to be called (domain/calls.py).
REASONS = {ENTERED_DECLINE: "entered decline",
           SHARP_DROP: "sharp drop in spend (a top-value member)"}


def reasons_label(reasons: str) -> str:
    """"entered_decline,sharp_drop" -> "entered decline; sharp drop in ..."."""
    return "; ".join(REASONS.get(r, r) for r in reasons.split(","))


def stage_label(stage: str) -> str:
    return stage.replace("_", " ").capitalize()


def ordered(found: Iterable[str], known: Iterable[str]) -> list[str]:
    """The groups found, known ones first in their order, then the others as they came."""
    found = list(dict.fromkeys(found))
    known = list(known)
    return [g for g in known if g in found] + [g for g in found if g not in known]


def tier_order(found: Iterable[str]) -> list[str]:
    return ordered(found, (ALL, *TIERS))


def stage_order(found: Iterable[str]) -> list[str]:
    """In the order a member lives them; any others (say "new" or "closed" in the moves)
    after them."""
    return ordered(found, STAGES)


def percent(rate: float) -> str:
    return f"{rate:.1%}"


def cny(amount: Decimal) -> str:
    return f"¥{amount:,.0f}"


def count(n: int) -> str:
    return f"{n:,}"


def month_label(month: str) -> str:
    """"2026-03" -> "Mar 2026"."""
    names = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    year, number = month.split("-")
    return f"{names[int(number) - 1]} {year}"
