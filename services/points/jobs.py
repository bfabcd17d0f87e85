"""The points service's daily jobs: expire lots past their date, announce what expires in
the next 30 days, and hand refunds that waited too long for their purchase to operations.

Each run is one transaction holding an advisory lock, so whichever instances try, one runs
and the others skip; a lot's expiry and its event commit together, so each happens once.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg

from contracts.envelope import EncodedEvent, encode
from contracts.points.v1 import PointsExpired, PointsExpiringSoon
from contracts.topics import CARD_TRANSACTIONS_V1, dead_letter_topic
from runtime import outbox
from runtime.periodic import repeat

from .sql import earning, expiry, ledger

log = logging.getLogger(__name__)
_IDS = uuid.uuid5(uuid.NAMESPACE_URL, "urn:loyalty:points:jobs")


@dataclass(frozen=True)
class JobReport:
    ran: bool
    expired_lots: int = 0
    announced: int = 0
    overdue_refunds: int = 0


@dataclass(frozen=True)
class ExpiryJob:
    schema: str
    source: str
    announce_days: int = 30
    refund_wait_seconds: float = 86_400
    chunk: int = 2_000

    async def run(self, pool: asyncpg.Pool, today: date, now: datetime | None = None) -> JobReport:
        now = now or datetime.now(UTC)
        async with pool.acquire() as conn, conn.transaction():
            if not await expiry.try_job_lock(conn, f"{self.schema}.expiry"):
                return JobReport(ran=False)
            expired = await self._expire(conn, today, now)
            announced = await self._announce(conn, today, now)
            overdue = await self._overdue_refunds(conn, now)
        return JobReport(True, expired, announced, overdue)

    async def _expire(self, conn, today: date, now: datetime) -> int:
        count = 0
        while members := await expiry.members_with_lots_due(conn, today, self.chunk):
            ledgers = await ledger.load(conn, members)
            events = []
            for account in ledgers.values():
                for day in sorted(d for d, p in account.lots.items() if d < today and p > 0):
                    points = account.expire(day, now)
                    count += 1
                    events.append(self._encode(PointsExpired(
                        member_id=account.member_id, points=points, expired_on=day,
                        expired_at=now), f"expired:{account.member_id}:{day}:{today}"))
            await ledger.save(conn, ledgers.values())
            await outbox.write(conn, events)
        return count

    async def _announce(self, conn, today: date, now: datetime) -> int:
        rows = await expiry.announce(conn, today, today + timedelta(days=self.announce_days))
        await outbox.write(conn, [self._encode(PointsExpiringSoon(
            member_id=row["member_id"], points=row["points"], expires_on=row["expires_on"],
            announced_at=now), f"expiring-soon:{row['member_id']}:{row['expires_on']}")
            for row in rows])
        return len(rows)

    async def _overdue_refunds(self, conn, now: datetime) -> int:
        rows = await earning.take_overdue_refunds(conn, self.refund_wait_seconds)
        topic = dead_letter_topic(CARD_TRANSACTIONS_V1, self.schema)
        await outbox.write(conn, [EncodedEvent(
            topic=topic, key=row["member_id"].encode(), value=row["payload"],
            headers=[*zip(row["header_names"], row["header_values"], strict=True),
                     ("dlq_reason", (f"refund {row['refund_id']}: its purchase did not arrive"
                                     f" within {self.refund_wait_seconds:.0f}s").encode()),
                     ("dlq_error", b"purchase_not_found"),
                     ("dlq_consumer_group", self.schema.encode()),
                     ("dlq_failed_at", now.isoformat().encode())])
            for row in rows])
        for row in rows:
            log.warning("refund %s waited since %s for its purchase; sent to %s",
                        row["refund_id"], row["received_at"].isoformat(), topic)
        return len(rows)

    def _encode(self, event, key: str) -> EncodedEvent:
        return encode(event, source=self.source, id=str(uuid.uuid5(_IDS, key)))


async def run_daily(job: ExpiryJob, pool: asyncpg.Pool, zone, every_seconds: float) -> None:
    """Run the job every `every_seconds` (it is cheap when nothing is due), until cancelled."""

    async def today() -> None:
        report = await job.run(pool, datetime.now(zone).date())
        if report.ran and (report.expired_lots or report.announced or report.overdue_refunds):
            log.info("expiry job: %s", report)

    await repeat(today, every_seconds, "expiry job")
