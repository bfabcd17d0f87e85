"""Notifications' personal data on the real broker and database: family name, gender and
birth date sealed in the contact projection (one layout, the key id in each ciphertext,
bound to the member), only month and day of the birthday in the clear; greetings still
address members rightly, the birthday job greets the members born today once and opens
only their data; `loyalty-ops reseal contacts` moves the sealed column to a new key; an
erasure clears it; contacts written before migration 0003 are sealed when the service
starts."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime

import httpx
import pytest
from cryptography.exceptions import InvalidTag

from contracts.accounts.v1 import MemberContactErased
from contracts.envelope import encode
from contracts.topics import MEMBER_CONTACTS_V1, MEMBERS_V1
from runtime import db
from runtime.personal_data import VERSION, Sealer, key_id
from services.notifications import app as notifications_app
from services.notifications.handlers import queue as queue_module
from services.notifications.personal import Personal, open_personal
from services.notifications.settings import NotificationsSettings
from tests.integration.fresh import _remove
from tests.integration.ops_cli import ops
from tests.integration.test_notifications_support import (
    SHANGHAI,
    FakeClock,
    World,
    contact,
    members,
    notifications_world,
    remember,
    upgrade,
)
from tools.sandbox.app import Credentials, create_app

pytestmark = pytest.mark.integration
OLD, NEW = os.urandom(32), os.urandom(32)
NAME, BORN = "欧阳", date(1979, 6, 1)
BIRTHDAY_MORNING = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


async def contacts_as_text(w: World) -> str:
    """The contacts' columns in the clear (the sealed ones are checked as bytes)."""
    rows = await w.service.pool.fetch(
        "SELECT (to_jsonb(t) - 'personal_sealed' - 'mobile_sealed' - 'openid_sealed')::text,"
        "       personal_sealed FROM contacts t")
    for row in rows:
        assert NAME.encode() not in row["personal_sealed"]
    return "\n".join(r[0] for r in rows)


async def test_names_gender_and_birth_date_are_sealed_and_greetings_still_address_members(
        infra, pii):
    async with notifications_world(infra, BIRTHDAY_MORNING, contact_key=b64(OLD)) as w:
        chinese, english, unknown = members(3, wechat=False)
        remember(pii, [chinese, english, unknown])
        pii += [NAME, "Hamilton"]
        await w.contacts([
            contact(chinese, family=NAME, gender="female", birth=BORN),
            contact(english, family="Hamilton", gender="male", language="en-US",
                    birth=date(1990, 12, 31)),
            contact(unknown, family="Zhou", gender="unknown", language="en-US")])

        rows = await w.service.pool.fetch("SELECT * FROM contacts ORDER BY member_id")
        assert all(r["family_name"] is r["gender"] is r["birth_date"] is None for r in rows)
        assert {r["birthday_mmdd"] for r in rows} == {601, 1231}
        for column in ("personal_sealed", "mobile_sealed"):
            assert {(r[column][0], bytes(r[column][1:5])) for r in rows} == {
                (VERSION, key_id(OLD))}
        everything = await contacts_as_text(w)
        for plain in (NAME, "Hamilton", "Zhou", "female", "1979-06-01", "1990-12-31"):
            assert plain not in everything, plain
        by_member = {r["member_id"]: r["personal_sealed"] for r in rows}
        assert open_personal(Sealer(OLD), chinese.id, by_member[chinese.id]) == Personal(
            NAME, "female", BORN)
        with pytest.raises(InvalidTag):  # bound to its member
            open_personal(Sealer(OLD), english.id, by_member[chinese.id])

        await w.send(MEMBERS_V1, [upgrade(m) for m in (chinese, english, unknown)])
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=3)
        [zh] = w.sent_to(chinese.mobile)
        assert zh["text"].startswith("【XX银行】欧阳女士，恭喜您自2026-03-01起升级为金卡会员")
        [en] = w.sent_to(english.mobile)
        assert en["text"].startswith("【XX银行】Dear Mr Hamilton, congratulations")
        [neutral] = w.sent_to(unknown.mobile)
        assert neutral["text"].startswith("【XX银行】Dear customer, congratulations")


async def test_the_birthday_job_greets_those_born_today_once_opening_only_their_data(
        infra, pii, monkeypatch):
    opened: list[str] = []
    real_open = queue_module.open_personal

    def spy(sealer, member_id, sealed):
        opened.append(member_id)
        return real_open(sealer, member_id, sealed)
    monkeypatch.setattr(queue_module, "open_personal", spy)

    feb_28 = datetime(2027, 2, 28, 10, 0, tzinfo=SHANGHAI)  # 2027 has no 29 February
    async with notifications_world(infra, feb_28) as w:
        today, leap, refusing, tomorrow, yesterday = members(5, wechat=False)
        remember(pii, [today, leap, refusing, tomorrow, yesterday])
        await w.contacts([
            contact(today, family="王", gender="female", marketing=True, birth=date(1990, 2, 28)),
            contact(leap, family="Li", language="en-US", marketing=True, birth=date(1992, 2, 29)),
            contact(refusing, marketing=False, birth=date(1990, 2, 28)),
            contact(tomorrow, marketing=True, birth=date(1990, 3, 1)),
            contact(yesterday, marketing=True, birth=date(1990, 2, 27))])

        assert await w.service.jobs.run_once() == {"summaries": 0, "birthdays": 2}
        assert await w.service.jobs.run_once() == {"summaries": 0, "birthdays": 0}
        assert sorted(opened) == sorted([today.id, leap.id])
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=2)
        [zh] = w.sent_to(today.mobile)
        assert zh["text"] == (
            "【XX银行】王女士，祝您生日快乐！感谢您一直以来的信任与支持。回复TD或R退订")
        [en] = w.sent_to(leap.mobile)
        assert en["text"].startswith("【XX银行】Dear Mr Li, happy birthday!")
        assert len(w.sandbox.sent) == 2
        assert await w.count("SELECT count(*) FROM messages WHERE template = 'birthday'") == 2


async def test_reseal_moves_the_sealed_names_to_the_new_key_and_an_erasure_clears_them(
        infra, pii):
    async with notifications_world(infra, BIRTHDAY_MORNING, contact_key=b64(OLD)) as w:
        kept, erased = members(2, wechat=True)
        remember(pii, [kept, erased])
        await w.contacts([contact(kept, family=NAME, birth=BORN),
                          contact(erased, family=NAME, birth=BORN)])

        keys = {"CONTACT_KEY": b64(NEW), "RETIRED_CONTACT_KEYS": b64(OLD)}
        here = {"notifications": w.service}
        resealed = await ops("reseal", "contacts", "--chunk", "1", services=here, env=keys)
        assert resealed.code == 0, resealed.err
        assert "2 contacts: 6 values re-sealed, 0 already under the current key" in resealed.out
        rows = await w.service.pool.fetch("SELECT * FROM contacts")
        assert {bytes(r["personal_sealed"][1:5]) for r in rows} == {key_id(NEW)}
        assert {open_personal(Sealer(NEW), r["member_id"], r["personal_sealed"]).family_name
                for r in rows} == {NAME}
        again = await ops("reseal", "contacts", services=here, env=keys)
        assert "2 contacts: 0 values re-sealed, 6 already under the current key" in again.out

        await w.send(MEMBER_CONTACTS_V1, [encode(MemberContactErased(
            member_id=erased.id, erased_at=datetime(2026, 6, 1, 11, tzinfo=SHANGHAI)),
            source="urn:test:accounts")])
        await w.until("SELECT count(*) FROM closed_members")
        rows = await w.service.pool.fetch("SELECT member_id FROM contacts")
        assert [r["member_id"] for r in rows] == [kept.id]


# ---------------------------------------------------------------- migration 0003

@asynccontextmanager
async def started(schema: str, clock: FakeClock, infra) -> AsyncIterator[World]:
    """The notifications service on an existing schema, with the sandbox in process."""
    settings = NotificationsSettings(
        contact_key=b64(OLD), wechat_base_url="http://sandbox/wechat",
        aliyun_base_url="http://sandbox/aliyun/", tencent_base_url="http://sandbox/tencent/",
        sender_poll_seconds=0.1, jobs_poll_seconds=3600)
    sandbox = create_app(Credentials.of(settings), keep_messages=1000, receipt_delay=0.1)
    service = notifications_app.build(schema, f"test.{schema}.", settings, clock=clock,
                                      transport=httpx.ASGITransport(app=sandbox))
    try:
        await service.start()
        try:
            yield World(service, sandbox.state.sandbox, clock,
                        infra["KAFKA_BOOTSTRAP_SERVERS"])
        finally:
            await service.stop()
    finally:
        await _remove(service)


async def test_contacts_written_before_migration_0003_are_sealed_when_the_service_starts(
        infra, pii):
    schema = f"notifications_{uuid.uuid4().hex[:8]}"
    [member] = members(1, wechat=False)
    remember(pii, [member])
    pii.append(NAME)
    sealer = Sealer(OLD)
    pool = await db.create_pool(infra["DATABASE_URL"], schema)
    try:  # the schema and a contact as release 0002 left them
        files = db.migration_files(notifications_app.PACKAGE_DIR)
        await db.migrate(pool, schema, [f for f in files if f.parent.parent.name == "runtime"
                                        or f.name < "0003"])
        await pool.execute(
            "INSERT INTO contacts (member_id, family_name, gender, birth_date, mobile_sealed,"
            " mobile_masked, language, service_consent, marketing_consent, changed_at)"
            " VALUES ($1, $2, 'female', $3, $4, '138****0000', 'zh-CN', true, true, $5)",
            member.id, NAME, BORN, sealer.seal(f"{member.id}:mobile", member.mobile),
            BIRTHDAY_MORNING)
    finally:
        await pool.close()

    async with started(schema, FakeClock(BIRTHDAY_MORNING), infra) as w:
        row = await w.service.pool.fetchrow("SELECT * FROM contacts")
        assert row["family_name"] is row["gender"] is row["birth_date"] is None
        assert row["birthday_mmdd"] == 601
        assert open_personal(sealer, member.id, row["personal_sealed"]) == Personal(
            NAME, "female", BORN)
        assert NAME not in await contacts_as_text(w)

        # The job's first run at start (after the sealing) greets them; once.
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'")
        [greeting] = w.sent_to(member.mobile)
        assert greeting["text"].startswith("【XX银行】欧阳女士，祝您生日快乐！")
        assert await w.service.jobs.run_once() == {"summaries": 0, "birthdays": 0}
