"""Support for the notifications integration tests (no tests here): a notifications service
on the real broker and database, with the sandbox providers in process (httpx
ASGITransport), a fake clock, and helpers to feed it events. Named test_* to stay among the
notifications test files."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from contracts.accounts.v1 import ContactConsents, MemberContactChanged, MemberTierChanged
from contracts.envelope import EncodedEvent, encode
from services.notifications.app import build
from services.notifications.settings import NotificationsSettings
from tests.integration.fresh import customers, fresh_service
from tests.integration.kafka_tools import eventually, produce
from tools.sandbox.app import Credentials, SandboxState, create_app

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: A weekday morning: outside quiet hours.
DAYTIME = datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI)
SOURCE = "urn:test:accounts"


class FakeClock:
    """The service's clock in these tests: stands still until moved."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment

    def advance(self, delta: timedelta) -> None:
        self._now += delta


@dataclass
class Member:
    id: str
    mobile: str
    openid: str | None

    @property
    def digits(self) -> str:
        return self.mobile.removeprefix("+86")


def members(n: int, *, wechat: bool) -> list[Member]:
    return [Member(c, f"+86138{uuid.uuid4().int % 10**8:08d}",
                   ("o" + uuid.uuid4().hex + "Ab-_")[:28] if wechat else None)
            for c in customers(n)]


def contact(m: Member, *, family: str = "张", gender: str = "male", language: str = "zh-CN",
            marketing: bool = False, service_messages: bool = True,
            birth: date = date(1980, 6, 1), at: datetime | None = None) -> EncodedEvent:
    return encode(MemberContactChanged(
        member_id=m.id, family_name=family, gender=gender, birth_date=birth, mobile=m.mobile,
        wechat_openid=m.openid, preferred_language=language,
        consents=ContactConsents(service_messages=service_messages, marketing=marketing),
        changed_at=at or datetime(2026, 1, 1, tzinfo=SHANGHAI)), source=SOURCE)


def upgrade(m: Member, new: str = "gold") -> EncodedEvent:
    return encode(MemberTierChanged(
        member_id=m.id, old_tier="standard", new_tier=new, reason="assets_qualified",
        effective_date=date(2026, 3, 1), changed_at=datetime(2026, 3, 1, tzinfo=SHANGHAI)),
        source=SOURCE)


class World:
    def __init__(self, service, sandbox: SandboxState, clock: FakeClock, bootstrap: str,
                 reporter=None):
        self.service = service
        #: The sandbox's sender of delivery receipts (with `receipts`).
        self.reporter = reporter
        self.sandbox = sandbox
        self.clock = clock
        self.bootstrap = bootstrap

    async def send(self, topic: str, events: list[EncodedEvent]) -> None:
        await produce(self.bootstrap, self.service.topic(topic), events)

    async def count(self, sql: str, *args) -> int:
        return await self.service.pool.fetchval(sql, *args)

    async def until(self, sql: str, *args, expected: int = 1, timeout: float = 20,
                    what: str = "") -> None:
        async def reached() -> bool:
            return await self.count(sql, *args) >= expected
        await eventually(reached, timeout=timeout, what=what or sql)

    async def contacts(self, events: list[EncodedEvent]) -> None:
        from contracts.topics import MEMBER_CONTACTS_V1
        await self.send(MEMBER_CONTACTS_V1, events)
        await self.until("SELECT count(*) FROM contacts", expected=len(events),
                         what="contacts projected")

    def sent_to(self, recipient: str) -> list[dict]:
        return [m for m in self.sandbox.sent if m["to"] == recipient]


@asynccontextmanager
async def notifications_world(infra, start: datetime, *, receipts: bool = False,
                              **overrides) -> AsyncIterator[World]:
    """`receipts`: the sandbox reports deliveries back to the service's callbacks."""
    clock = FakeClock(start)
    settings = NotificationsSettings(
        wechat_base_url="http://sandbox/wechat",
        aliyun_base_url="http://sandbox/aliyun/", tencent_base_url="http://sandbox/tencent/",
        sender_poll_seconds=0.1, jobs_poll_seconds=3600, retry_base_seconds=60,
        retry_max_attempts=4, contact_wait_seconds=600, **overrides)
    sandbox_app = create_app(Credentials.of(settings), keep_messages=100_000,
                             receipt_delay=0.1,
                             receipts_to="http://notifications/callbacks" if receipts else None,
                             clock=lambda: clock.now().timestamp())

    def make(name: str, prefix: str):
        return build(name, prefix, settings, clock=clock,
                     transport=httpx.ASGITransport(app=sandbox_app))

    async with fresh_service(make, "notifications") as service:
        if receipts:
            sandbox_app.state.reporter.transport = httpx.ASGITransport(app=service.http)
        yield World(service, sandbox_app.state.sandbox, clock, infra["KAFKA_BOOTSTRAP_SERVERS"],
                    sandbox_app.state.reporter)


def remember(pii: list[str], *groups: list[Member]) -> None:
    for group in groups:
        for m in group:
            pii.extend([m.digits, m.mobile] + ([m.openid] if m.openid else []))


def assert_no_pii_logged(records: list[logging.LogRecord], secrets: list[str]) -> None:
    """No log line carries a phone number (any form) or an openid."""
    for record in records:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        for secret in secrets:
            assert secret not in text, f"{record.name} logged personal data: {text[:200]}"
