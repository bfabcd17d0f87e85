"""Re-seals every member's personal data under the current PII_KEY, and seals the names,
gender and birth dates still in plaintext from before accounts migration 0005. A key
rotation:

    1. PII_KEY=<new> RETIRED_PII_KEYS=<old>[,<older>]; restart the service: values under
       the old keys still open, new ones are sealed under the new key;
    2. python -m services.accounts.reseal [--schema accounts] [--chunk 500]
       (DATABASE_URL and the keys from the service's environment);
    3. remove the old key from RETIRED_PII_KEYS.

It goes through the active members in member order, a chunk per transaction, and leaves
values already under the current key alone: stopped, it can simply run again. The service
runs it for the plaintext at every start (`seal_plaintext`). Prints the counts; exits 1 if
a value opens under none of the keys (the member is left as they are).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg
from cryptography.exceptions import InvalidTag

from runtime import resealing
from runtime.personal_data import Sealer

from .personal import SealedField, open_personal, seal_personal, sealing_context
from .settings import AccountsSettings
from .sql import members as sql

log = logging.getLogger(__name__)


@dataclass
class Counts:
    members: int = 0
    resealed: int = 0
    current: int = 0
    unreadable: int = 0

    def __str__(self) -> str:
        return (f"{self.members} members: {self.resealed} values sealed anew, {self.current}"
                f" already under the current key, {self.unreadable} unreadable")


async def reseal(conn: asyncpg.Connection, sealer: Sealer, *, chunk: int = 500,
                 plaintext_only: bool = False) -> Counts:
    """`sealer` seals under the current key and opens under the retired ones too."""
    counts, after = Counts(), ""
    while True:
        async with conn.transaction():
            rows = await sql.sealed_after(conn, after, chunk, plaintext_only=plaintext_only)
            changed = [sealed for row in rows
                       if (sealed := _resealed(sealer, row, counts)) is not None]
            await sql.replace_sealed(conn, changed)
        if not rows:
            return counts
        counts.members += len(rows)
        after = rows[-1]["member_id"]


async def seal_plaintext(pool: asyncpg.Pool, sealer: Sealer) -> None:
    """At start: the members whose names, gender and birth date are still in plaintext."""
    async with pool.acquire() as conn:
        counts = await reseal(conn, sealer, plaintext_only=True)
    if counts.members:
        log.info("personal data in plaintext sealed: %s", counts)


def _resealed(sealer: Sealer, row: asyncpg.Record, counts: Counts
              ) -> tuple[str, bytes, bytes, bytes | None] | None:
    """The member's values, each sealed anew unless under the current key already; None
    when nothing changes or one of them opens under none of the keys."""
    member = row["member_id"]
    try:
        personal = open_personal(sealer, member, row)
        mobile = sealer.open_bytes(sealing_context(member, "mobile"), row["mobile_enc"])
        openid = (None if row["openid_enc"] is None else
                  sealer.open_bytes(sealing_context(member, "wechat_openid"), row["openid_enc"]))
    except (ValueError, InvalidTag):
        counts.unreadable += 1
        return None
    assert personal is not None  # an active member has it, sealed or not
    fresh = [row["personal_enc"] is None or not sealer.is_current(row["personal_enc"]),
             not sealer.is_current(row["mobile_enc"]),
             openid is not None and not sealer.is_current(row["openid_enc"])]
    counts.resealed += sum(fresh)
    counts.current += 2 + (openid is not None) - sum(fresh)
    if not any(fresh):
        return None
    return (member,
            seal_personal(sealer, member, personal) if fresh[0] else row["personal_enc"],
            _again(sealer, member, "mobile", mobile) if fresh[1] else row["mobile_enc"],
            (_again(sealer, member, "wechat_openid", openid) if fresh[2]
             else row["openid_enc"]))


def _again(sealer: Sealer, member: str, field: SealedField, plain: bytes) -> bytes:
    return sealer.seal(sealing_context(member, field), plain)


def main() -> None:
    settings = AccountsSettings()
    sealer = settings.sealer()
    resealing.main(__doc__, schema="accounts", per="members",
                   database_url=settings.database_url,
                   reseal=lambda conn, chunk: reseal(conn, sealer, chunk=chunk))


if __name__ == "__main__":
    main()
