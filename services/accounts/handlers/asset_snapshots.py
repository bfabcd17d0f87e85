"""corebanking.asset-snapshots.v1 -> the monthly history, and the tiers decided again from
all of it (handlers/timelines.py): member.tier-changed on loyalty.members.v1 for each change,
with its true effective date, and corrections when a late month changes the past. A
snapshot for a member not enrolled yet is kept: the enrolment decides from it
(handlers/customers.py)."""

from __future__ import annotations

from dataclasses import replace

from contracts.corebanking.v1 import AssetSnapshotTaken
from runtime.consumer import Inbound
from runtime.unit_of_work import UnitOfWork

from ..domain.programme import TierProgramme
from ..sql import snapshots as sql
from ..sql.members import lock_members
from ..sql.snapshots import Snapshot
from . import Clock, utc_now
from .timelines import Retiering


class OnAssetSnapshots:
    """Monthly asset snapshots: kept as history (the first delivery of a month); each new
    month decides the member's tiers again."""

    def __init__(self, programme: TierProgramme, clock: Clock = utc_now):
        self.programme = programme
        self.clock = clock

    async def __call__(self, uow: UnitOfWork, batch: list[Inbound[AssetSnapshotTaken]]) -> None:
        snapshots = [Snapshot(i.event.customer_id, i.event.month, i.event.average_daily_assets,
                              i.event.taken_at, i.envelope.id) for i in batch]
        await lock_members(uow.conn, [s.member_id for s in snapshots])
        fresh = await sql.insert_snapshots(uow.conn, snapshots)
        if not fresh:
            return  # duplicates only
        retiering = await Retiering.load(uow, self.programme, self.clock(),
                                         sorted({member_id for member_id, _ in fresh}),
                                         closed=True)
        # One month at a time, in delivery order, as if each had come in a batch of its
        # own: what is announced does not depend on where batches happen to split.
        full = {m: retiering.facts(m) for m in retiering.members}
        known = {m: {month: assets for month, assets in facts.assets.items()
                     if (m, month) not in fresh} for m, facts in full.items()}
        for inbound, snapshot in zip(batch, snapshots, strict=True):
            key = (snapshot.member_id, snapshot.month)
            if key not in fresh or snapshot.member_id not in retiering.members:
                continue  # a duplicate, or a member not enrolled yet (kept for it)
            fresh.discard(key)  # the same month twice in one batch: the first is kept
            facts, months = full[snapshot.member_id], known[snapshot.member_id]
            months[snapshot.month] = facts.assets[snapshot.month]
            retiering.decide(snapshot.member_id, inbound, replace(facts, assets=dict(months)))
        await retiering.save()
