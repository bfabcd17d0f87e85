"""The members' replies (api.py decodes the providers' pushes into domain/opt_out.py
`Reply`s) -> stop replies recorded, the marketing consent of the contact projection cleared
at once, and notification.opt-out-received emitted for accounts, which withdraws the
consent and announces it (member.contact-changed). One unit of work per push.

A reply that is no stop keyword, or from a number or openid no member has, is ignored:
logged without the number, and counted (metrics.REPLIES). A stop pushed again finds its
row and changes nothing. Numbers and openids are looked up by their keyed hash and never
logged or stored; nor is the reply's text, beyond the keyword matched."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager

from contracts.notifications.v1 import NotificationOptOutReceived
from runtime.personal_data import lookup_hash
from runtime.unit_of_work import UnitOfWork

from .. import metrics
from ..domain.opt_out import Reply, StopKeywords
from ..sql import opt_outs as sql

log = logging.getLogger(__name__)


class OnReplies:
    def __init__(self, unit_of_work: Callable[[], AbstractAsyncContextManager[UnitOfWork]],
                 keywords: StopKeywords, hash_key: bytes) -> None:
        self._unit_of_work = unit_of_work
        self._keywords = keywords
        self._hash_key = hash_key

    async def __call__(self, replies: Sequence[Reply]) -> int:
        """Returns how many members opted out anew."""
        stops = []
        for reply in replies:
            if reply.is_stop(self._keywords) and reply.sender is not None:
                stops.append(reply)
            else:
                self._ignored(reply, "not_stop" if reply.sender else "unknown_sender")
        if not stops:
            return 0
        hashes = {r: lookup_hash(self._hash_key, r.sender) for r in stops if r.sender}
        async with self._unit_of_work() as uow:
            members = {
                **await sql.members_by_hash(uow.conn, "mobile_hash", [
                    h for r, h in hashes.items() if r.via == "sms_reply"]),
                **await sql.members_by_hash(uow.conn, "openid_hash", [
                    h for r, h in hashes.items() if r.via == "wechat_unsubscribe"])}
            rows = []
            for reply in stops:
                found = members.get(hashes[reply], [])
                if not found:
                    self._ignored(reply, "unknown_sender")
                rows += [sql.OptOutRow(
                    reply_id=lookup_hash(self._hash_key, reply.reply_id).hex(),
                    member_id=member, provider=reply.provider, via=reply.via,
                    keyword=reply.keyword(self._keywords), received_at=reply.received_at)
                    for member in found]
            fresh = await sql.record_opt_outs(uow.conn, rows)
            for row in fresh:
                uow.emit(NotificationOptOutReceived(
                    member_id=row.member_id, channel="wechat" if row.provider == "wechat"
                    else "sms", provider=row.provider, via=row.via, keyword=row.keyword,
                    received_at=row.received_at), key=("opt-out", row.reply_id, row.member_id))
        for row in rows:
            new = row in fresh
            metrics.REPLIES.labels(row.provider, "opted_out" if new else "repeated").inc()
            log.info("member %s %s marketing (%s, %s)", row.member_id,
                     "opted out of" if new else "had already opted out of", row.via,
                     row.provider)
        return len(fresh)

    @staticmethod
    def _ignored(reply: Reply, outcome: str) -> None:
        metrics.REPLIES.labels(reply.provider, outcome).inc()
        log.info("%s reply ignored: %s", reply.provider, outcome.replace("_", " "))
