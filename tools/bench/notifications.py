"""`python -m tools.bench.notifications [--events 50000]`: messages per second from
events to the sandbox providers under a burst, quiet hours and the daily cap active.

Needs KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL (`eval "$(scripts/infra env)"`). It starts
the sandbox providers as a separate process, loads contacts for events/2 members (half
WeChat-bound; not timed), stops the service, publishes the burst (a tier change and a
points-expiring notice per member: transactional and service messages), starts the service
again on the backlog, and measures from the first burst batch committed until the sandbox
has received every send. The clock is a working day's 10:00 moving in real time, so the
quiet-hours and cap rules run but hold nothing back. Private schema and topics each run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime

import asyncpg
import httpx

from contracts.accounts.v1 import ContactConsents, MemberContactChanged, MemberTierChanged
from contracts.envelope import encode
from contracts.points.v1 import PointsExpiringSoon
from contracts.topics import MEMBER_CONTACTS_V1, MEMBERS_V1, POINTS_V1
from services.notifications.app import build
from services.notifications.domain.schedule import SHANGHAI
from services.notifications.settings import NotificationsSettings
from simulator.publisher import make_producer, publish

SOURCE = "urn:bench:notifications"


class ShiftedClock:
    """Real time moving forward from a chosen start (a working day's 10:00)."""

    def __init__(self, start: datetime) -> None:
        self._offset = start - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _publish(bootstrap: str, topic: str, events) -> None:
    from dataclasses import replace

    producer = make_producer(bootstrap)
    await producer.start()
    try:
        await publish(producer, (replace(e, topic=topic) for e in events))
    finally:
        await producer.stop()


async def _wait_for(check, timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached in {timeout:.0f}s")
        await asyncio.sleep(every)


async def run(base: str, events: int, provider: str) -> float:
    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    async with httpx.AsyncClient(base_url=base) as probe:
        async def sandbox_up() -> bool:
            try:
                return (await probe.get("/stats")).status_code == 200
            except httpx.TransportError:
                return False
        await _wait_for(sandbox_up, 30, "sandbox started")

        run_id = uuid.uuid4().hex[:8]
        name, prefix = f"notifications_bench_{run_id}", f"bench.{run_id}."
        settings = NotificationsSettings(
            sms_provider=provider,
            wechat_base_url=f"{base}/wechat", aliyun_base_url=f"{base}/aliyun/",
            tencent_base_url=f"{base}/tencent/", batch_max_records=2000,
            sender_batch_size=1000, sender_concurrency=128, sender_workers=3,
            sender_poll_seconds=0.05, jobs_poll_seconds=3600)
        clock = ShiftedClock(datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI))
        n = events // 2
        first = uuid.uuid4().int % (9 * 10**9)
        members = [f"C{first + i:010d}" for i in range(n)]

        service = build(name, prefix, settings, clock=clock)
        await service.start()
        print(f"loading contacts for {n} members ...", flush=True)
        now = datetime.now(SHANGHAI)
        await _publish(bootstrap, service.topic(MEMBER_CONTACTS_V1), (encode(
            MemberContactChanged(
                member_id=m, family_name="张", gender=("male", "female", "unknown")[i % 3],
                birth_date=date(1980, 1 + i % 12, 1 + i % 28),
                mobile=f"+86139{i:08d}",
                wechat_openid=f"o{i:027d}" if i % 2 else None,
                preferred_language="zh-CN" if i % 4 else "en-US",
                consents=ContactConsents(service_messages=True, marketing=False),
                changed_at=now), source=SOURCE) for i, m in enumerate(members)))

        async def loaded() -> bool:
            return await service.pool.fetchval("SELECT count(*) FROM contacts") >= n
        await _wait_for(loaded, 300, "contacts loaded")
        await service.stop()

        print(f"publishing the burst of {2 * n} events ...", flush=True)
        await _publish(bootstrap, service.topic(MEMBERS_V1), (encode(MemberTierChanged(
            member_id=m, old_tier="standard", new_tier="gold", reason="assets_qualified",
            effective_date=date(2026, 3, 1), changed_at=now), source=SOURCE)
            for m in members))
        await _publish(bootstrap, service.topic(POINTS_V1), (encode(PointsExpiringSoon(
            member_id=m, points=100 + i, expires_on=date(2026, 12, 31),
            announced_at=now), source=SOURCE) for i, m in enumerate(members)))
        before = (await probe.get("/stats")).json()

        service = build(name, prefix, settings, clock=clock)
        started: list[float] = []

        def first_commit(report) -> None:
            if report.applied:
                started.append(time.perf_counter())
        for topic in (MEMBERS_V1, POINTS_V1):
            service.processors[topic].after_commit.append(first_commit)
        await service.start()
        print("consuming the burst ...", flush=True)

        async def all_sent() -> bool:
            stats = (await probe.get("/stats")).json()
            return stats["sms"] + stats["wechat"] - before["sms"] - before["wechat"] >= 2 * n
        await _wait_for(all_sent, 900, "every message at the sandbox", every=0.05)
        elapsed = time.perf_counter() - min(started)

        async def all_recorded() -> bool:
            return await service.pool.fetchval(
                "SELECT count(*) FROM messages WHERE state <> 'queued'") >= 2 * n
        await _wait_for(all_recorded, 60, "every send recorded")
        sent = await service.pool.fetchval(
            "SELECT count(*) FROM messages WHERE state = 'sent'")
        failed = await service.pool.fetchval(
            "SELECT count(*) FROM messages WHERE state <> 'sent'")
        stats = (await probe.get("/stats")).json()
        await service.stop()
        conn = await asyncpg.connect(os.environ["DATABASE_URL"])
        try:  # the bench's private schema goes; its topics stay (the broker keeps them)
            await conn.execute(f'DROP SCHEMA "{name}" CASCADE')
        finally:
            await conn.close()
    rate = 2 * n / elapsed
    print(f"{2 * n} events -> {sent} messages sent ({failed} not sent), "
          f"{stats['wechat'] - before['wechat']} WeChat / {stats['sms'] - before['sms']} SMS "
          f"via {provider}, in {elapsed:.1f} s: {rate:,.0f} messages/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--sms-provider", choices=("aliyun", "tencent"), default="aliyun")
    args = parser.parse_args()
    if not (os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("DATABASE_URL")):
        parser.error('KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL must be set '
                     '(eval "$(scripts/infra env)")')
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    port = _free_port()  # the sandbox in its own process, as the providers would be
    sandbox = subprocess.Popen([sys.executable, "-m", "tools.sandbox",
                                "--port", str(port)])
    try:
        asyncio.run(run(f"http://127.0.0.1:{port}", args.events, args.sms_provider))
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)


if __name__ == "__main__":
    main()
