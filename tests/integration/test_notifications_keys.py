"""Contact keys rotated on the real broker and database: with the old key retired, values
sealed under it still open and messages reach the members; `python -m
services.notifications.reseal` then puts every value (names too) under the new key (chunked, again
without change, counts printed), also values of the service's first layout; a value no key
opens is counted and left alone."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from types import SimpleNamespace

import asyncpg
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contracts.accounts.v1 import MemberContactChanged
from contracts.topics import MEMBERS_V1
from runtime.personal_data import Sealer
from services.notifications.handlers.contacts import OnContacts
from services.notifications.personal import open_personal
from services.notifications.reseal import reseal
from tests.integration.test_notifications_support import (
    DAYTIME,
    contact,
    members,
    notifications_world,
    remember,
    upgrade,
)

pytestmark = pytest.mark.integration
OLD, NEW = os.urandom(32), os.urandom(32)


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def first_layout(key: bytes, member: str, value: str) -> bytes:
    """How the service sealed before runtime.personal_data: nonce | ciphertext, no header."""
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, value.encode(), member.encode())


def run_reseal(infra, schema: str) -> str:
    env = {**os.environ, **infra, "CONTACT_KEY": b64(NEW), "RETIRED_CONTACT_KEYS": b64(OLD)}
    done = subprocess.run(
        [sys.executable, "-m", "services.notifications.reseal", "--schema", schema,
         "--chunk", "2"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


async def test_rotated_keys_open_until_resealed_and_then_all_is_under_the_new_key(infra, pii):
    async with notifications_world(infra, DAYTIME, contact_key=b64(NEW),
                                   retired_contact_keys=b64(OLD)) as w:
        before = members(2, wechat=False) + members(2, wechat=True)
        [oldest] = members(1, wechat=True)
        after = members(2, wechat=True)
        everyone = before + [oldest] + after
        remember(pii, everyone)

        # Projected by the service as it ran before the rotation: under the old key.
        async with w.service.unit_of_work() as uow:
            await OnContacts(Sealer(OLD), w.clock, os.urandom(32))(uow, [
                SimpleNamespace(event=MemberContactChanged.model_validate_json(contact(m).value))
                for m in [*before, oldest]])
            await uow.conn.execute(
                "UPDATE contacts SET mobile_sealed = $2, openid_sealed = $3 WHERE member_id = $1",
                oldest.id, first_layout(OLD, oldest.id, oldest.mobile),
                first_layout(OLD, oldest.id, oldest.openid))
        await w.contacts([contact(m) for m in after])  # after it: under the new key

        await w.send(MEMBERS_V1, [upgrade(m) for m in before + after])
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=6)
        assert sorted(m["to"] for m in w.sandbox.sent) == sorted(
            m.openid or m.mobile for m in before + after)

        schema = w.service.schema
        assert run_reseal(infra, schema) == (  # each: personal data, mobile, maybe openid
            "7 contacts: 13 values re-sealed, 6 already under the current key, 0 unreadable")
        only_new = Sealer(NEW)
        rows = await w.service.pool.fetch(
            "SELECT member_id, mobile_sealed, openid_sealed FROM contacts")
        opened = {r["member_id"]: (
            only_new.open(f"{r['member_id']}:mobile", r["mobile_sealed"]),
            r["openid_sealed"] and only_new.open(f"{r['member_id']}:openid", r["openid_sealed"]))
            for r in rows}
        assert opened == {m.id: (m.mobile, m.openid) for m in everyone}
        names = await w.service.pool.fetch("SELECT member_id, personal_sealed FROM contacts")
        assert {open_personal(only_new, r["member_id"], r["personal_sealed"]).family_name
                for r in names} == {"张"}
        assert run_reseal(infra, schema) == (
            "7 contacts: 0 values re-sealed, 19 already under the current key, 0 unreadable")

        await w.send(MEMBERS_V1, [upgrade(oldest)])  # its first-layout values, re-sealed
        await w.until("SELECT count(*) FROM messages WHERE state = 'sent'", expected=7)
        assert w.sent_to(oldest.openid)

        foreign = Sealer(os.urandom(32)).seal(f"{oldest.id}:mobile", oldest.mobile)
        conn = await asyncpg.connect(infra["DATABASE_URL"],
                                     server_settings={"search_path": schema})
        try:
            await conn.execute("UPDATE contacts SET mobile_sealed = $2 WHERE member_id = $1",
                               oldest.id, foreign)
            counts = await reseal(conn, Sealer(NEW, [OLD]), [NEW, OLD], chunk=3)
            assert (counts.contacts, counts.resealed, counts.unreadable) == (7, 0, 1)
            assert await conn.fetchval("SELECT mobile_sealed FROM contacts WHERE member_id = $1",
                                       oldest.id) == foreign
        finally:
            await conn.close()
