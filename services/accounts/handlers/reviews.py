"""The tier review job (yearly cadence, tiers.toml `[review]`; every
TIER_REVIEW_CHECK_SECONDS, app.py): runs the reviews whose run day has come, oldest first,
each once across instances. Under the monthly cadence there are none: each month's snapshot
is that month's review (handlers/asset_snapshots.py).

A review runs in batches of members, one transaction each: claim the review
(sql/reviews.py: its row, inserted if absent and locked, skipped if another instance holds
it), decide the batch's tiers again with the review counted as run (handlers/timelines.py:
member.tier-changed through the outbox for what the announced history lacks), and move the
row's cursor on. The row's lock and the cursor keep a second instance or a re-run from
reviewing a member twice; a crash leaves the cursor where the last batch committed.

`preview` answers the staff's question before it runs: who would move, and why.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date

import asyncpg

from contracts.tiers import Tier
from runtime.unit_of_work import UnitOfWork

from ..domain.preview import PendingMove, pending_move
from ..domain.programme import TierProgramme
from ..domain.reviews import Review, due, next_review
from ..domain.tiers import Override, TierFacts
from ..sql import reviews as sql
from ..sql.members import active_after, lock_members
from . import TierJob
from .timelines import Retiering, load_facts

log = logging.getLogger(__name__)
#: Members reviewed per transaction.
BATCH = 500


class RunTierReviews(TierJob):
    async def __call__(self) -> None:
        reviews = due(self.programme.review, self.programme.day_of(self.clock()))
        if not reviews:
            return
        async with self.unit_of_work() as uow:
            finished = await sql.finished(uow.conn)
        for review in reviews:
            if review.on not in finished and not await self.run(review):
                return  # another instance is on it: the later ones wait for it

    async def run(self, review: Review, batch: int = BATCH) -> bool:
        """Run `review` to its end; False if another instance holds it."""
        while True:
            async with self.unit_of_work() as uow:
                cursor = await sql.claim(uow.conn, review.on, review.kind)
                if cursor is None:
                    row = await sql.review(uow.conn, review.on)
                    return row is not None and row["finished_at"] is not None
                ids = await active_after(uow.conn, cursor, batch)
                moved = await self._review(uow, ids)
                done = len(ids) < batch
                await sql.advance(uow.conn, review.on, ids[-1] if ids else cursor, len(ids),
                                  moved, finished=done)
            if done:
                log.info("tier review of %s (%s) finished", review.on, review.kind)
                return True

    async def _review(self, uow: UnitOfWork, member_ids: list[str]) -> int:
        """Decide the members again (the review is run: its row is in); returns how many
        had a change announced."""
        if not member_ids:
            return 0
        await lock_members(uow.conn, member_ids)
        retiering = await Retiering.load(uow, self.programme, self.clock(), member_ids)
        moved = sum(bool(retiering.decide(m, None)) for m in sorted(retiering.members))
        await retiering.save()
        return moved


@dataclass(frozen=True, slots=True)
class Preview:
    """The next review's moves: counted over every active member, listed from a cursor."""

    review: Review | None  # None: the monthly cadence (each member's next month)
    members: int
    counts: dict[tuple[Tier, Tier], int]
    moves: list[tuple[str, PendingMove, Override | None]]  # member, move, override in force
    next_after: str | None


async def preview(pool: asyncpg.Pool, programme: TierProgramme, today: date, after: str,
                  limit: int, chunk: int = 1000) -> Preview:
    """Who the next review would move, and why (domain/preview.py), read-only: each active
    member's facts as they are now, in chunks of `chunk` members."""
    members, counts, moves, more, cursor = 0, Counter[tuple[Tier, Tier]](), [], False, ""
    async with pool.acquire() as conn:
        review = next_review(programme.review, await sql.reviews_run(conn))
        while ids := await active_after(conn, cursor, chunk):
            cursor = ids[-1]
            facts = await load_facts(conn, programme, ids)
            members += len(facts)
            for member_id in sorted(facts):
                move = pending_move(facts[member_id], programme)
                if move is None:
                    continue
                counts[move.old_tier, move.new_tier] += 1
                if member_id > after:
                    more = more or len(moves) == limit
                    if len(moves) < limit:
                        moves.append((member_id, move, _in_force(facts[member_id], today)))
    return Preview(review, members, dict(counts), moves,
                   moves[-1][0] if more and moves else None)


def _in_force(facts: TierFacts, today: date) -> Override | None:
    return next((o for o in facts.overrides if o.end(today) is None), None)
