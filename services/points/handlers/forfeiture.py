"""The event of what a closed ledger's true-up moved (domain/ledger.py `true_up`): points
forfeited, or points of the forfeiture given back."""

from __future__ import annotations

from datetime import datetime

from contracts.points.v1 import PointsForfeited, PointsForfeitureReturned


def forfeiture_event(member_id: str, forfeited: int, reference: str, closed_at: datetime
                     ) -> PointsForfeited | PointsForfeitureReturned | None:
    """`forfeited` > 0: forfeited; < 0: given back, for the late fact `reference`."""
    if forfeited > 0:
        return PointsForfeited(member_id=member_id, points=forfeited, reason="member_closed",
                               forfeited_at=closed_at)
    if forfeited < 0:
        return PointsForfeitureReturned(member_id=member_id, points=-forfeited,
                                        reason="member_closed", reference=reference,
                                        returned_at=closed_at)
    return None
