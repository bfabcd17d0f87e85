"""Counts and moves of members between groups (a stage or a tier) month to month: of the
members open at a month's end, how many were in each group; of those open at the end of the
month before and of this one, how many changed group (a move is counted in the month it
shows at the end of)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from . import months as m
from .figures import Count, Move
from .history import Member

Group = Callable[[Member, str], str]


def counts(members: Iterable[Member], months: list[str], groups: Iterable[str],
           group: Group) -> list[Count]:
    members = list(members)
    names = list(groups)
    rows: list[Count] = []
    for month in months:
        seen = Counter(group(member, month) for member in members if member.open_at_end(month))
        rows.extend(Count(month, name, seen[name]) for name in names)
    return rows


def moves(members: Iterable[Member], months: list[str], group: Group) -> list[Move]:
    """Only the changes, each month's in (source, target) order."""
    members = list(members)
    rows: list[Move] = []
    for month in months:
        previous = m.add(month, -1)
        moved: Counter[tuple[str, str]] = Counter()
        for member in members:
            if member.open_at_end(previous) and member.open_at_end(month):
                pair = (group(member, previous), group(member, month))
                if pair[0] != pair[1]:
                    moved[pair] += 1
        rows.extend(Move(month, s, t, n) for (s, t), n in sorted(moved.items()))
    return rows
