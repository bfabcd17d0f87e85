"""What each consumed event adds to a member's month (member_months): the month is the
business month (Asia/Shanghai) of the event's own time, the counters add up, an asset
snapshot sets the month's assets.

Points: issued counts earnings, goodwill and re-ratings' moves, less reversals; redeemed
counts debits less the refunds of cancelled ones; forfeited counts a closed member's
points, less those given back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal

from contracts.base import Event
from contracts.corebanking.v1 import (
    AssetSnapshotTaken,
    CardTransactionPosted,
    CardTransactionRefunded,
)
from contracts.notifications.v1 import (
    NotificationDelivered,
    NotificationOptOutReceived,
    NotificationSent,
)
from contracts.points.v1 import (
    PointsDebited,
    PointsEarned,
    PointsExpired,
    PointsForfeited,
    PointsForfeitureReturned,
    PointsGoodwillAwarded,
    PointsRefunded,
    PointsRerated,
    PointsReversed,
)
from contracts.rewards.v1 import RedemptionConfirmed, SalonAttended

from .months import month_of

#: The additive columns of member_months, in the order sql/member_months.py writes them.
COUNTERS = ("purchases", "spend", "refunded", "redemptions", "salons", "points_issued",
            "points_redeemed", "points_expired", "points_forfeited", "messages_sent",
            "messages_delivered", "opt_outs")

Delta = tuple[str, dict[str, int | Decimal]]  # (month, {counter: amount})

_DELTAS: dict[type[Event], Callable[[Event], Delta]] = {
    CardTransactionPosted: lambda e: (month_of(e.posted_at),
                                      {"purchases": 1, "spend": e.settlement_amount}),
    CardTransactionRefunded: lambda e: (month_of(e.refunded_at),
                                        {"refunded": e.refund_amount}),
    PointsEarned: lambda e: (month_of(e.earned_at), {"points_issued": e.points}),
    PointsGoodwillAwarded: lambda e: (month_of(e.awarded_at), {"points_issued": e.points}),
    PointsRerated: lambda e: (month_of(e.rerated_at), {"points_issued": e.points_moved}),
    PointsReversed: lambda e: (month_of(e.reversed_at), {"points_issued": -e.points}),
    PointsDebited: lambda e: (month_of(e.debited_at), {"points_redeemed": e.points}),
    PointsRefunded: lambda e: (month_of(e.refunded_at), {"points_redeemed": -e.points}),
    PointsExpired: lambda e: (month_of(e.expired_at), {"points_expired": e.points}),
    PointsForfeited: lambda e: (month_of(e.forfeited_at), {"points_forfeited": e.points}),
    PointsForfeitureReturned: lambda e: (month_of(e.returned_at),
                                         {"points_forfeited": -e.points}),
    RedemptionConfirmed: lambda e: (month_of(e.confirmed_at), {"redemptions": 1}),
    SalonAttended: lambda e: (month_of(e.checked_in_at), {"salons": 1}),
    NotificationSent: lambda e: (month_of(e.sent_at), {"messages_sent": 1}),
    NotificationDelivered: lambda e: (month_of(e.delivered_at), {"messages_delivered": 1}),
    NotificationOptOutReceived: lambda e: (month_of(e.received_at), {"opt_outs": 1}),
}
#: The event types that count in member_months.
COUNTED: tuple[type[Event], ...] = (*_DELTAS, AssetSnapshotTaken)


class Tally:
    """A batch's additions per (month, member), and the asset snapshots it sets."""

    def __init__(self) -> None:
        self.counters: dict[tuple[str, str], dict[str, int | Decimal]] = defaultdict(dict)
        self.assets: dict[tuple[str, str], Decimal] = {}

    def add(self, events: Iterable[Event]) -> Tally:
        for event in events:
            if isinstance(event, AssetSnapshotTaken):
                self.assets[(event.month, event.subject)] = event.average_daily_assets
                continue
            delta = _DELTAS.get(type(event))
            if delta is None:
                continue
            month, amounts = delta(event)
            row = self.counters[(month, event.subject)]
            for name, amount in amounts.items():
                row[name] = row.get(name, 0) + amount
        return self

    def rows(self) -> list[tuple[str, str, list[int | Decimal], Decimal | None]]:
        """(month, member, counters in COUNTERS order, assets or None), sorted by key (the
        order rows are locked in: concurrent batches never deadlock)."""
        keys = sorted(set(self.counters) | set(self.assets))
        return [(month, member, [self.counters.get((month, member), {}).get(c, 0)
                                 for c in COUNTERS], self.assets.get((month, member)))
                for month, member in keys]
