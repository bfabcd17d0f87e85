"""Members a relationship manager should call in month M, with the reasons:

- `entered_decline`: open at the end of M-1 and M, in decline at M and not at M-1;
- `sharp_drop`: among the `most_valuable` members by lifetime value at M-1, their net
  spend in M is below (1 - sharp_drop) times their average of the `window_months` months
  before M (which was above 0).

One call per member and month, its reasons in that order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

from . import months as m
from .figures import CallNeeded
from .history import Member
from .model import Model
from .stages import DECLINE

ENTERED_DECLINE, SHARP_DROP = "entered_decline", "sharp_drop"


def dropped(member: Member, month: str, model: Model) -> bool:
    before = [member.activity(x).net_spend
              for x in m.series(m.add(month, -1), model.window_months)]
    average = sum(before, Decimal(0)) / len(before)
    return average > 0 and member.activity(month).net_spend < (1 - model.sharp_drop) * average


def calls(members: Iterable[Member], month: str, model: Model,
          stage: Callable[[Member, str], str], top_before: set[str],
          value: Callable[[Member, str], Decimal] = lambda _x, _m: Decimal(0),
          ) -> list[CallNeeded]:
    """`stage(member, month)` gives stages, `value(member, month)` lifetime values;
    `top_before` is the most valuable at M-1."""
    previous = m.add(month, -1)
    rows: list[CallNeeded] = []
    for member in sorted(members, key=lambda x: x.member_id):
        if not (member.open_at_end(previous) and member.open_at_end(month)):
            continue
        reasons = []
        if stage(member, month) == DECLINE and stage(member, previous) != DECLINE:
            reasons.append(ENTERED_DECLINE)
        if member.member_id in top_before and dropped(member, month, model):
            reasons.append(SHARP_DROP)
        if reasons:
            rows.append(CallNeeded(member.member_id, member.tier(month), ",".join(reasons),
                                   month, stage(member, month), value(member, month)))
    return rows
