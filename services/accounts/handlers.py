"""Batch handlers: events in, pure rules, set-wise writes, events out. They run inside the
batch's one transaction (runtime.consumer), after the inbox has dropped redelivered events.

Both consumers lock the batch's members first (accounts_sql.lock_members): a snapshot and
the enrolment it must be decided with can otherwise be processed at the same moment, each
blind to the other's uncommitted row. Phone numbers and openids are never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg

from contracts.corebanking.v1 import (
    AssetSnapshotTaken,
    CustomerClosed,
    CustomerOnboarded,
    CustomerUpdated,
)
from runtime.consumer import Inbound, Outcome, Outgoing

from . import accounts_sql, events
from .accounts_sql import ConsentChange, MemberRow, RecordedChange, Snapshot
from .domain.members import Profile, on_close, on_profile
from .domain.programme import TierProgramme
from .domain.tiers import TierChange, TierState, month_number, month_of, on_enrolment, on_snapshot
from .pii import PiiVault

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class OnCustomerFile:
    """corebanking.customers.v1 -> members, consents; member.enrolled / updated / closed on
    loyalty.members.v1, member.contact-changed / contact-erased on loyalty.member-contacts.v1,
    and member.tier-changed when snapshots were there before the enrolment."""

    def __init__(self, programme: TierProgramme, vault: PiiVault, clock: Clock = utc_now):
        self.programme = programme
        self.vault = vault
        self.clock = clock

    async def __call__(self, conn: asyncpg.Connection, batch: list[Inbound]) -> Outcome:
        ids = sorted({i.event.customer_id for i in batch})
        await accounts_sql.lock_members(conn, ids)
        known = await accounts_sql.members(conn, ids)
        rows: dict[str, MemberRow] = {}
        consents: list[ConsentChange] = []
        outgoing: list[Outgoing] = []
        enrolments: dict[str, tuple[Inbound, datetime]] = {}
        closed: set[str] = set()

        for inbound in batch:  # in order: one member's events build on each other
            event, member_id = inbound.event, inbound.event.customer_id
            if isinstance(event, CustomerClosed):
                step = on_close(known.get(member_id), member_id, event.closed_at)
                at = event.closed_at
            else:
                at = (event.onboarded_at if isinstance(event, CustomerOnboarded)
                      else event.updated_at)
                step = on_profile(known.get(member_id), member_id, self._profile(event), at)
            if step.action == "ignore":
                log.info("customer event %s for member %s ignored: %s",
                         inbound.envelope.id, member_id, step.why_ignored)
                continue
            known[member_id] = step.member
            earlier = rows.get(member_id)
            if step.action == "close":
                rows[member_id] = MemberRow(step.member, None, None,
                                            earlier and earlier.enrolled_at, at)
                closed.add(member_id)
                enrolments.pop(member_id, None)
                outgoing += [Outgoing(e, cause=inbound) for e in events.closed(member_id, at)]
                continue
            enrolled_at = at if step.action == "enrol" else earlier and earlier.enrolled_at
            rows[member_id] = MemberRow(
                step.member, self.vault.encrypt(member_id, "mobile", event.mobile),
                event.wechat_openid and self.vault.encrypt(member_id, "wechat_openid",
                                                           event.wechat_openid),
                enrolled_at, None)
            if step.action == "enrol":
                enrolments[member_id] = (inbound, at)
                outgoing.append(Outgoing(events.enrolled(event, at), cause=inbound))
            elif step.language_changed:
                outgoing.append(Outgoing(events.updated(event, at), cause=inbound))
            if step.contact_changed:
                outgoing.append(Outgoing(events.contact_changed(event, at), cause=inbound))
            consents += [ConsentChange(member_id, name, granted, at, inbound.envelope.source,
                                       inbound.envelope.id)
                         for name, granted in step.consent_changes]

        await accounts_sql.save_members(conn, list(rows.values()))
        await accounts_sql.record_consent_changes(conn, consents)
        if closed:
            await accounts_sql.drop_overrides_of_closed(conn, sorted(closed))
        outgoing += await self._enrol_tiers(conn, enrolments)
        return Outcome(events=outgoing)

    async def _enrol_tiers(self, conn: asyncpg.Connection,
                           enrolments: dict[str, tuple[Inbound, datetime]]) -> list[Outgoing]:
        """New members start at Standard, or at once at the tier of snapshots that arrived
        before them."""
        if not enrolments:
            return []
        histories = await accounts_sql.asset_histories(conn, sorted(enrolments))
        now = self.clock()
        today = now.astimezone(self.programme.zone).date()
        states: dict[str, TierState] = {}
        changes: list[RecordedChange] = []
        outgoing = []
        for member_id, (inbound, at) in enrolments.items():
            enrolled_on = at.astimezone(self.programme.zone).date()
            decision = on_enrolment(histories.get(member_id, {}), enrolled_on, today,
                                    self.programme)
            states[member_id] = decision.state
            if decision.change:
                out = tier_changed(member_id, decision.change, now, inbound)
                changes.append(RecordedChange(member_id, decision.change, now, out.id))
                outgoing.append(out)
        await accounts_sql.save_tier_states(conn, states)
        await accounts_sql.record_tier_changes(conn, changes)
        return outgoing

    def _profile(self, customer: CustomerOnboarded | CustomerUpdated) -> Profile:
        return Profile(
            family_name=customer.family_name, given_name=customer.given_name,
            gender=customer.gender, birth_date=customer.birth_date,
            preferred_language=customer.preferred_language,
            mobile_hash=self.vault.lookup_hash(customer.mobile),
            openid_hash=(self.vault.lookup_hash(customer.wechat_openid)
                         if customer.wechat_openid else None),
            service_messages=customer.consents.service_messages,
            marketing=customer.consents.marketing)


class OnAssetSnapshots:
    """corebanking.asset-snapshots.v1 -> the monthly history, tier decisions, and
    member.tier-changed on loyalty.members.v1 for each change."""

    def __init__(self, programme: TierProgramme, clock: Clock = utc_now):
        self.programme = programme
        self.clock = clock

    async def __call__(self, conn: asyncpg.Connection,
                       batch: list[Inbound[AssetSnapshotTaken]]) -> Outcome:
        snapshots = [Snapshot(i.event.customer_id, i.event.month, i.event.average_daily_assets,
                              i.event.taken_at, i.envelope.id) for i in batch]
        ids = sorted({s.member_id for s in snapshots})
        await accounts_sql.lock_members(conn, ids)
        fresh = await accounts_sql.insert_snapshots(conn, snapshots)
        states = await accounts_sql.tier_states(conn, ids)
        if not fresh or not states:
            return Outcome()  # duplicates only, or members not enrolled yet (kept for it)
        oldest = min(month_number(month) for _, month in fresh)
        histories = await accounts_sql.asset_histories(
            conn, sorted(states), month_of(oldest - self.programme.downgrade_after_months))

        now = self.clock()
        today = now.astimezone(self.programme.zone).date()
        changed: dict[str, TierState] = {}
        recorded: list[RecordedChange] = []
        ended_overrides: list[int] = []
        outgoing = []
        for inbound, snapshot in zip(batch, snapshots, strict=True):
            key = (snapshot.member_id, snapshot.month)
            if key not in fresh or snapshot.member_id not in states:
                continue
            fresh.discard(key)  # the same month twice in one batch: the first decides
            before = states[snapshot.member_id]
            decision = on_snapshot(before, histories[snapshot.member_id], snapshot.month,
                                   today, self.programme)
            if decision.state == before:
                continue
            states[snapshot.member_id] = changed[snapshot.member_id] = decision.state
            if before.override and not decision.state.override:
                ended_overrides.append(before.override.id)
            if decision.change:
                out = tier_changed(snapshot.member_id, decision.change, now, inbound)
                recorded.append(RecordedChange(snapshot.member_id, decision.change, now, out.id))
                outgoing.append(out)

        await accounts_sql.save_tier_states(conn, changed)
        await accounts_sql.record_tier_changes(conn, recorded)
        if ended_overrides:
            await accounts_sql.end_overrides(conn, ended_overrides, "expired")
        return Outcome(events=outgoing)


def tier_changed(member_id: str, change: TierChange, now: datetime,
                 cause: Inbound | None) -> Outgoing:
    """The id is fixed here (not left to the outbox) so the history row can name it; an
    override ending gets the same id whichever path (snapshot or periodic check) ends it."""
    if change.reason == "override_ended":
        out_id = events.event_id("override-ended", change.override_id)
    else:
        out_id = events.event_id(cause.envelope.id if cause else "", "tier-changed",
                                 change.override_id or "")
    return Outgoing(events.tier_changed(member_id, change, now), cause=cause, id=out_id)
