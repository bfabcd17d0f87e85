"""Accounts' personal data on the real broker and database: names, gender and birth date
sealed like phone numbers and openids (one layout, the key id in each ciphertext),
re-sealed under a new key by `services.accounts.reseal`, the plaintext of rows written
before migration 0005 sealed at start; on Kafka, the contacts topic compacted with a
tombstone after an erasure, and short retention for the dead letters of topics with
personal data."""

from __future__ import annotations

import base64
import os
from datetime import UTC, date, datetime

import httpx
import pytest
from cryptography.exceptions import InvalidTag

from contracts.topics import (
    ASSET_SNAPSHOTS_V1,
    CUSTOMERS_V1,
    MEMBER_CONTACTS_V1,
    MEMBERS_V1,
    dead_letter_topic,
)
from runtime.kafka import DAY_MS, ensure_topics, topic_config, topic_configs
from runtime.personal_data import VERSION, Sealer, key_id
from runtime.relay import wait_until_drained
from services.accounts.app import build
from services.accounts.personal import open_personal
from services.accounts.reseal import reseal, seal_plaintext
from services.accounts.settings import AccountsSettings
from tests.integration.fresh import customers, fresh_service
from tests.integration.kafka_tools import eventually, produce, read_topic
from tests.integration.test_accounts_members import (
    _every_row_as_text,
    ce_type,
    closed,
    consumed,
    onboarded,
    openid_of,
    watch,
)
from tests.tokens import AsPathMember

pytestmark = pytest.mark.integration
OLD_KEY, NEW_KEY = os.urandom(32), os.urandom(32)
NAME, GIVEN, BORN = "欧阳", "娜娜", date(1979, 2, 28)


@pytest.fixture
async def accounts(infra, monkeypatch):
    monkeypatch.setenv("PII_KEY", base64.b64encode(OLD_KEY).decode())
    async with fresh_service(build, "accounts") as service:
        yield service


async def onboard(accounts, bootstrap: str, *members: str) -> None:
    reports = watch(accounts.customer_file)
    await produce(bootstrap, accounts.topic(CUSTOMERS_V1), [
        onboarded(m, family_name=NAME, given_name=GIVEN, gender="female", birth_date=BORN)
        for m in members])
    await eventually(lambda: consumed(reports, len(members)), what="onboarding consumed")


async def profile_of(accounts, member: str) -> dict:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=accounts.http),
                                 base_url="http://accounts", auth=AsPathMember()) as http:
        response = await http.get(f"/members/{member}")
    assert response.status_code == 200, response.text
    return response.json()


def key_ids(row) -> set[bytes]:
    blobs = [row["personal_enc"], row["mobile_enc"], row["openid_enc"]]
    assert all(b[0] == VERSION for b in blobs)
    return {bytes(b[1:5]) for b in blobs}


async def test_names_gender_and_birth_date_are_sealed_and_shown_to_the_member(accounts,
                                                                            infra):
    member = customers(1)[0]
    await onboard(accounts, infra["KAFKA_BOOTSTRAP_SERVERS"], member)
    shown = await profile_of(accounts, member)
    assert (shown["family_name"], shown["gender"], shown["birth_date"]) == (
        NAME, "female", BORN.isoformat())
    async with accounts.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM members WHERE member_id = $1", member)
        everything = await _every_row_as_text(conn, accounts.schema)
    assert row["family_name"] is row["given_name"] is row["gender"] is row["birth_date"] is None
    assert key_ids(row) == {key_id(OLD_KEY)}
    for plain in (NAME, GIVEN, BORN.isoformat(), "1979", "female", openid_of(member)):
        assert plain not in everything, plain
    # Bound to its member: copied onto another member's row, it does not open.
    with pytest.raises(InvalidTag):
        open_personal(Sealer(OLD_KEY), "C0000000001", row)


async def test_reseal_moves_every_value_to_the_new_key_once(accounts, infra):
    members = customers(3)
    await onboard(accounts, infra["KAFKA_BOOTSTRAP_SERVERS"], *members)
    rotated = Sealer(NEW_KEY, retired=[OLD_KEY])
    async with accounts.pool.acquire() as conn:
        counts = await reseal(conn, rotated, chunk=2)
        assert (counts.members, counts.resealed, counts.current, counts.unreadable) == (
            3, 9, 0, 0)
        again = await reseal(conn, rotated, chunk=2)
        assert (again.resealed, again.current) == (0, 9)
        rows = await conn.fetch("SELECT * FROM members WHERE member_id = ANY($1::text[])",
                                members)
    assert all(key_ids(row) == {key_id(NEW_KEY)} for row in rows)
    # Under the new key alone, everything opens.
    only_new = Sealer(NEW_KEY)
    assert {open_personal(only_new, r["member_id"], r).family_name for r in rows} == {NAME}
    # A value under a key nobody holds is counted and left alone.
    async with accounts.pool.acquire() as conn:
        assert (await reseal(conn, Sealer(os.urandom(32)))).unreadable == 3


async def test_plaintext_of_before_migration_0005_is_sealed_at_start(accounts, infra):
    member, untouched = customers(2)
    await onboard(accounts, infra["KAFKA_BOOTSTRAP_SERVERS"], member, untouched)
    await accounts.pool.execute(  # the row as release 0004 wrote it
        "UPDATE members SET personal_enc = NULL, family_name = $2, given_name = $3,"
        " gender = 'female', birth_date = $4 WHERE member_id = $1", member, NAME, GIVEN, BORN)
    assert (await profile_of(accounts, member))["family_name"] == NAME  # read either way
    before = await accounts.pool.fetchval("SELECT personal_enc FROM members"
                                          " WHERE member_id = $1", untouched)
    await seal_plaintext(accounts.pool, AccountsSettings().sealer())  # what start runs
    row = await accounts.pool.fetchrow("SELECT * FROM members WHERE member_id = $1", member)
    assert row["family_name"] is None and row["birth_date"] is None
    assert key_ids(row) == {key_id(OLD_KEY)}
    assert (await profile_of(accounts, member))["birth_date"] == BORN.isoformat()
    assert await accounts.pool.fetchval("SELECT personal_enc FROM members"
                                        " WHERE member_id = $1", untouched) == before


async def test_the_contacts_topic_is_compacted_and_an_erasure_ends_in_a_tombstone(accounts,
                                                                                  infra):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    member = customers(1)[0]
    await onboard(accounts, bootstrap, member)
    reports = watch(accounts.customer_file)
    await produce(bootstrap, accounts.topic(CUSTOMERS_V1),
                  [closed(member, datetime(2025, 12, 3, 9, tzinfo=UTC))])
    await eventually(lambda: consumed(reports, 1), what="closing consumed")
    await wait_until_drained(accounts.pool)
    records = await read_topic(bootstrap, accounts.topic(MEMBER_CONTACTS_V1),
                               keep=lambda r: r.key == member.encode(),
                               until=lambda kept: len(kept) >= 3, settle=1.0)
    assert [r.value is None for r in records] == [False, False, True]
    assert [ce_type(r) for r in records[:2]] == ["member.contact-changed",
                                                "member.contact-erased"]
    assert dict(records[2].headers)["ce_id"].decode().endswith(":tombstone")

    configs = await topic_configs(bootstrap, [accounts.topic(MEMBER_CONTACTS_V1)])
    contacts = configs[accounts.topic(MEMBER_CONTACTS_V1)]
    assert contacts["cleanup.policy"] == "compact"
    assert contacts["max.compaction.lag.ms"] == str(7 * DAY_MS)
    assert contacts["min.compaction.lag.ms"] == contacts["delete.retention.ms"] == str(DAY_MS)


async def test_dead_letters_of_topics_with_personal_data_are_kept_three_days(accounts,
                                                                            infra):
    bootstrap = infra["KAFKA_BOOTSTRAP_SERVERS"]
    personal = accounts.topic(dead_letter_topic(CUSTOMERS_V1, accounts.name))
    other = accounts.topic(dead_letter_topic(ASSET_SNAPSHOTS_V1, accounts.name))
    configs = await topic_configs(bootstrap, [personal, other, accounts.topic(MEMBERS_V1)])
    assert configs[personal]["retention.ms"] == str(3 * DAY_MS)
    assert configs[other]["retention.ms"] == configs[accounts.topic(MEMBERS_V1)][
        "retention.ms"] == str(7 * DAY_MS)  # the broker's default
    assert configs[accounts.topic(MEMBERS_V1)]["cleanup.policy"] == "delete"
    # A topic made before its settings (or by hand) gets them at the next start.
    await ensure_topics(bootstrap, [personal], 1, {personal: {"retention.ms": "600000"}})
    assert (await topic_configs(bootstrap, [personal]))[personal]["retention.ms"] == "600000"
    await ensure_topics(bootstrap, [personal], 1,
                        {personal: topic_config(dead_letter_topic(CUSTOMERS_V1, "x"))})
    assert (await topic_configs(bootstrap, [personal]))[personal]["retention.ms"] == str(
        3 * DAY_MS)
