"""HTTP routes: the providers' delivery-receipt callbacks.

    POST /callbacks/aliyun/sms-report   Alibaba Cloud SmsReport push (JSON array)
    POST /callbacks/tencent/sms-status  Tencent Cloud SMS status callback (JSON array)
    GET|POST /callbacks/wechat          WeChat server URL check and event push (XML);
                                        TEMPLATESENDJOBFINISH carries the send-job result

Each receipt is recorded and settles its message (delivered, or failed with
delivery_failed) with notification.delivered / notification.failed through the outbox.
Receipts carry phone numbers and openids: they are neither logged nor stored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from contracts.envelope import encode
from contracts.notifications.v1 import NotificationDelivered, NotificationFailed
from runtime import outbox

from . import messages_sql as sql
from .clock import Clock
from .sender import EVENT_IDS, SOURCE

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Receipt:
    provider: str
    provider_message_id: str
    #: Our message id when the provider echoes it (Alibaba Cloud out_id).
    message_id: str | None
    delivered: bool
    code: str


class AliyunAck(BaseModel):
    code: int
    msg: str


class TencentAck(BaseModel):
    result: int
    errmsg: str


class ReceiptBook:
    """Records receipts and settles their messages, one transaction per callback."""

    def __init__(self, pool: Callable[[], asyncpg.Pool], clock: Clock) -> None:
        self._pool = pool
        self._clock = clock

    async def record(self, receipts: list[Receipt]) -> int:
        now = self._clock.now()
        async with self._pool().acquire() as conn, conn.transaction():
            targets = await sql.receipt_targets(
                conn, [r.provider_message_id for r in receipts],
                [r.message_id for r in receipts if r.message_id and _is_uuid(r.message_id)])
            by_provider_id = {(t["provider"], t["provider_message_id"]): t for t in targets}
            by_id = {str(t["id"]): t for t in targets}
            rows, outcomes, events = [], {}, []
            for receipt in receipts:
                target = by_id.get(receipt.message_id or "") or by_provider_id.get(
                    (receipt.provider, receipt.provider_message_id))
                rows.append((receipt.provider, receipt.provider_message_id,
                             target["id"] if target else None, receipt.delivered,
                             receipt.code[:64]))
                if target is None or target["state"] != "sent" or target["id"] in outcomes:
                    continue  # unknown, or already settled: recorded, nothing changes
                mid = str(target["id"])
                if receipt.delivered:
                    outcomes[target["id"]] = (target["id"], "delivered", None, None, now)
                    event = NotificationDelivered(
                        member_id=target["member_id"], message_id=mid,
                        channel=target["channel"], provider=target["provider"],
                        delivered_at=now)
                else:
                    outcomes[target["id"]] = (target["id"], "failed", "delivery_failed",
                                              receipt.code[:64], now)
                    event = NotificationFailed(
                        member_id=target["member_id"], message_id=mid,
                        template=await _template(conn, target["id"]),
                        channel=target["channel"], reason="delivery_failed",
                        error_code=receipt.code[:64], failed_at=now)
                events.append(encode(event, source=SOURCE, time=now, id=str(
                    uuid.uuid5(EVENT_IDS, f"{mid}:receipt"))))
            await sql.record_receipts(conn, rows, list(outcomes.values()))
            await outbox.write(conn, events)
        log.info("recorded %d delivery receipts (%d settled messages)", len(rows),
                 len(outcomes))
        return len(outcomes)


async def _template(conn: asyncpg.Connection, message_id) -> str:
    return await conn.fetchval("SELECT template FROM messages WHERE id = $1", message_id)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def receipts_router(book: ReceiptBook, wechat_token: str) -> APIRouter:
    router = APIRouter(prefix="/callbacks", tags=["delivery receipts"])

    @router.post("/aliyun/sms-report", response_model=AliyunAck)
    async def aliyun_report(request: Request) -> AliyunAck:
        body = await request.json()
        if not isinstance(body, list):
            raise HTTPException(422, "expected a JSON array of reports")
        await book.record([Receipt(
            "aliyun", str(r.get("biz_id", "")), r.get("out_id") or None,
            bool(r.get("success")), str(r.get("err_code", ""))) for r in body])
        return AliyunAck(code=0, msg="成功")

    @router.post("/tencent/sms-status", response_model=TencentAck)
    async def tencent_status(request: Request) -> TencentAck:
        body = await request.json()
        if not isinstance(body, list):
            raise HTTPException(422, "expected a JSON array of status reports")
        await book.record([Receipt(
            "tencent", str(r.get("sid", "")), None, r.get("report_status") == "SUCCESS",
            str(r.get("errmsg", ""))) for r in body])
        return TencentAck(result=0, errmsg="OK")

    def check_signature(request: Request) -> None:
        q = request.query_params
        parts = sorted([wechat_token, q.get("timestamp", ""), q.get("nonce", "")])
        expected = hashlib.sha1("".join(parts).encode()).hexdigest()
        if not hmac.compare_digest(expected, q.get("signature", "")):
            raise HTTPException(401, "bad signature")

    @router.get("/wechat", response_class=PlainTextResponse)
    async def wechat_verify(request: Request) -> str:
        check_signature(request)
        return request.query_params.get("echostr", "")

    @router.post("/wechat", response_class=PlainTextResponse)
    async def wechat_event(request: Request) -> str:
        check_signature(request)
        try:
            root = ET.fromstring(await request.body())
        except ET.ParseError as exc:
            raise HTTPException(400, "not XML") from exc
        if root.findtext("Event") == "TEMPLATESENDJOBFINISH":
            status = root.findtext("Status") or ""
            await book.record([Receipt("wechat", root.findtext("MsgID") or "", None,
                                       status == "success", status)])
        return "success"

    return router
