"""loyalty.points.v1, one consumer group per service: each event type to its handler."""

from __future__ import annotations

from contracts.points.v1 import PointsSpendingProfiled
from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork

from .recommendations import Recommendations
from .saga import SettleRedemptions


class OnPoints:
    """The saga's answers settle redemptions; spending profiles become offers that fit."""

    def __init__(self, settle: SettleRedemptions, recommend: Recommendations) -> None:
        self.settle = settle
        self.recommend = recommend

    async def __call__(self, uow: UnitOfWork, batch: list[Inbound]) -> None:
        profiles = [i for i in batch if isinstance(i.event, PointsSpendingProfiled)]
        if profiles:
            await self.recommend(uow, profiles)
        if len(profiles) < len(batch):
            await self.settle(uow, [i for i in batch
                                    if not isinstance(i.event, PointsSpendingProfiled)])
