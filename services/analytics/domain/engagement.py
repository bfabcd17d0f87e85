"""Redemptions by benefit kind and lounge use by airport over the report's months, and
notifications' reach and opt-outs per month.

- Redemption rate of a kind: members who had a confirmed redemption of that kind in the
  report's months, over the members with qualifying activity in any of them.
- Lounge use: lounge redemptions by the airport of the lounge (its id's prefix), the
  guests being the persons beyond the member.
- Reach of a month: members sent a notification (messaged), those of them with a delivery
  in the month (reached: a delivery of an earlier month's message alone does not count, so
  the rate never passes 1); the opt-out rate is members who opted out over members open at
  its end.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from .figures import LoungeUse, Reach, Redemptions
from .history import Member, Redemption

KINDS = ("lounge", "offer", "donation")


def airport(kind: str, item_id: str) -> str | None:
    """A lounge's airport: its id's prefix (PEK-T3-C01 -> PEK)."""
    return item_id.split("-", 1)[0].upper() if kind == "lounge" else None


def active_members(members: Iterable[Member], months: list[str]) -> int:
    return sum(any(member.activity(month).qualifying for month in months)
               for member in members)


def redemptions_by_kind(redemptions: Iterable[Redemption], months: list[str],
                        active: int) -> list[Redemptions]:
    period = set(months)
    count: Counter[str] = Counter()
    points: Counter[str] = Counter()
    who: dict[str, set[str]] = defaultdict(set)
    for r in redemptions:
        if r.month in period:
            count[r.kind] += 1
            points[r.kind] += r.points
            who[r.kind].add(r.member_id)
    kinds = list(KINDS) + sorted(set(count) - set(KINDS))
    return [Redemptions(kind, count[kind], points[kind], len(who[kind]),
                        len(who[kind]) / active if active else 0.0) for kind in kinds]


def lounge_use(redemptions: Iterable[Redemption], months: list[str],
               cities: Mapping[str, str]) -> list[LoungeUse]:
    """Busiest airport first (then by code)."""
    period = set(months)
    visits: Counter[str] = Counter()
    guests: Counter[str] = Counter()
    for r in redemptions:
        if r.kind == "lounge" and r.month in period and r.airport:
            visits[r.airport] += 1
            guests[r.airport] += r.persons - 1
    order = sorted(visits, key=lambda a: (-visits[a], a))
    return [LoungeUse(a, cities.get(a, ""), visits[a], guests[a]) for a in order]


def reach(members: Iterable[Member], months: list[str]) -> list[Reach]:
    members = list(members)
    rows: list[Reach] = []
    for month in months:
        acts = [member.activity(month) for member in members]
        rows.append(Reach(
            month=month,
            messaged=sum(a.messages_sent > 0 for a in acts),
            reached=sum(a.messages_sent > 0 and a.messages_delivered > 0 for a in acts),
            opted_out=sum(a.opt_outs > 0 for a in acts),
            members=sum(member.open_at_end(month) for member in members)))
    return rows
