"""Rewards and notifications on the real broker and database, one private world: a partner
redeems an offer for two members, and each member's SMS (as the sandbox provider delivers
it) carries the redemption's reference whole, in one script: the Chinese member's
addressed as 张先生, the English member's as Dear Ms Ouyang, with no Chinese in it."""

from __future__ import annotations

import re
from datetime import datetime

import httpx
import pytest

from contracts.topics import MEMBER_CONTACTS_V1
from services.notifications.app import build as build_notifications
from services.notifications.settings import NotificationsSettings
from services.rewards.app import build as build_rewards
from services.rewards.domain.references import reference
from services.rewards.partners import create_partner
from tests.integration.fresh import fresh_world
from tests.integration.kafka_tools import eventually, produce
from tests.integration.test_notifications_support import (
    DAYTIME,
    SHANGHAI,
    FakeClock,
    contact,
    members,
    remember,
)
from tools.partner_client import PartnerClient
from tools.sandbox.app import Credentials, create_app

pytestmark = pytest.mark.integration
FREE_OFFER = "off_coffee_02_2"   # a discount: no points, confirmed at once
CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")


async def test_a_confirmed_redemptions_sms_carries_the_whole_reference(infra, pii):
    clock = FakeClock(DAYTIME)
    settings = NotificationsSettings(
        wechat_base_url="http://sandbox/wechat", aliyun_base_url="http://sandbox/aliyun/",
        tencent_base_url="http://sandbox/tencent/", sender_poll_seconds=0.1,
        jobs_poll_seconds=3600)
    sandbox = create_app(Credentials.of(settings), clock=lambda: clock.now().timestamp())

    def notifications(name: str, prefix: str):
        return build_notifications(name, prefix, settings, clock=clock,
                                   transport=httpx.ASGITransport(app=sandbox))

    async with fresh_world({"rewards": build_rewards,
                            "notifications": notifications}) as services:
        rewards, notes = services["rewards"], services["notifications"]
        zh, en = members(2, wechat=False)
        remember(pii, [zh, en])
        await produce(infra["KAFKA_BOOTSTRAP_SERVERS"], notes.topic(MEMBER_CONTACTS_V1), [
            contact(zh, family="张"),
            contact(en, family="欧阳", gender="female", language="en-US")])

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=rewards.http),
                                     base_url="http://rewards", timeout=30) as client:
            async with rewards.pool.acquire() as conn:
                _, key_id, secret = await create_partner(
                    conn, rewards.settings.sealer(), name="测试伙伴", scopes=["offers"],
                    lounges=[], offers=["*"], rate=1000)
            partner = PartnerClient(client, key_id, secret)
            ids, days = {}, {}
            for m in (zh, en):
                await rewards.pool.execute("INSERT INTO members (member_id, tier, changed_at)"
                                           " VALUES ($1, 'standard', now())", m.id)
                code, _ = await rewards.redemptions.issue_code(m.id)
                answer = await partner.redeem_offer(code, FREE_OFFER)
                assert answer.status_code == 201, answer.text
                assert answer.json()["status"] == "confirmed"
                ids[m.id] = answer.json()["id"]
                # An offer has no valid_on: the day it was confirmed, in Shanghai.
                confirmed_at = datetime.fromisoformat(answer.json()["settled_at"])
                days[m.id] = confirmed_at.astimezone(SHANGHAI).date().isoformat()

        async def sent() -> bool:
            return await notes.pool.fetchval(
                "SELECT count(*) FROM messages WHERE template = 'redemption_confirmed'"
                " AND state = 'sent'") == 2
        await eventually(sent, timeout=30, what="both confirmations sent")

        texts = {m.id: [s["text"] for s in sandbox.state.sandbox.sent if s["to"] == m.mobile]
                 for m in (zh, en)}
        refs = {member: reference(redemption) for member, redemption in ids.items()}
        assert len(set(refs.values())) == 2 and all(len(r) == 11 for r in refs.values())
        [zh_text], [en_text] = texts[zh.id], texts[en.id]
        assert zh_text.startswith("【XX银行】张先生，您已成功兑换")
        assert f"凭证号{refs[zh.id]}，使用日期{days[zh.id]}，" in zh_text
        assert en_text.startswith("【XX银行】Dear Ms Ouyang, your redemption is confirmed: ")
        assert f"Reference {refs[en.id]}, valid {days[en.id]}," in en_text
        assert "…" not in zh_text + en_text
        assert not CJK.search(en_text.removeprefix("【XX银行】"))
        stored = await notes.pool.fetch("SELECT facts->>'reference' AS ref FROM messages")
        assert sorted(r["ref"] for r in stored) == sorted(refs.values())
