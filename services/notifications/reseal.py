"""Re-seals every stored contact value (family name, gender and birth date, phone numbers,
openids) under the current CONTACT_KEY, and seals the family names, genders and birth dates
still in plaintext from before notifications migration 0003. A key rotation:

    1. CONTACT_KEY=<new> RETIRED_CONTACT_KEYS=<old>[,<older>]; restart the service: values
       under the old keys still open, new ones are sealed under the new key;
    2. python -m services.notifications.reseal [--schema notifications] [--chunk 500]
       (DATABASE_URL and the keys from the service's environment), or
       `loyalty-ops reseal contacts`;
    3. remove the old key from RETIRED_CONTACT_KEYS.

It goes through the contacts in member order, a chunk per transaction, and leaves values
already under the current key alone: stopped, it can simply run again. Values of the
service's first layout (nonce | ciphertext, the member id as associated data, no header) are
re-sealed too. The service runs it for the plaintext at every start (`seal_plaintext`).
Prints the counts; exits 1 if a value opens under none of the keys (it is left as it is).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from runtime import resealing
from runtime.personal_data import Sealer

from .personal import Personal, seal_personal
from .settings import NotificationsSettings
from .sql import contacts as sql

log = logging.getLogger(__name__)


@dataclass
class Counts:
    contacts: int = 0
    resealed: int = 0
    current: int = 0
    unreadable: int = 0

    def __str__(self) -> str:
        return (f"{self.contacts} contacts: {self.resealed} values re-sealed, {self.current}"
                f" already under the current key, {self.unreadable} unreadable")


async def reseal(conn: asyncpg.Connection, sealer: Sealer, keys: Sequence[bytes], *,
                 chunk: int = 500, plaintext_only: bool = False) -> Counts:
    """`sealer` seals under the current key and opens under all `keys` (current and retired),
    which also open values of the first layout. `plaintext_only`: only the contacts whose
    family name, gender and birth date are still in plaintext."""
    counts, after = Counts(), ""
    while True:
        async with conn.transaction():
            rows = await sql.sealed_after(conn, after, chunk, plaintext_only=plaintext_only)
            changed = []
            for row in rows:
                member = row["member_id"]
                personal = (_resealed(sealer, keys, member, "personal", row["personal_sealed"],
                                      counts) if row["personal_sealed"] is not None
                            else _sealed_plaintext(sealer, row, counts))
                mobile = _resealed(sealer, keys, member, "mobile", row["mobile_sealed"], counts)
                openid = (_resealed(sealer, keys, member, "openid", row["openid_sealed"], counts)
                          if row["openid_sealed"] is not None else None)
                if personal or mobile or openid:
                    changed.append((member, personal or row["personal_sealed"],
                                    mobile or row["mobile_sealed"],
                                    openid or row["openid_sealed"]))
            await sql.replace_sealed(conn, changed)
        if not rows:
            return counts
        counts.contacts += len(rows)
        after = rows[-1]["member_id"]


async def seal_plaintext(pool: asyncpg.Pool, sealer: Sealer, keys: Sequence[bytes]) -> None:
    """At start: the contacts whose family name, gender and birth date are in plaintext."""
    async with pool.acquire() as conn:
        counts = await reseal(conn, sealer, keys, plaintext_only=True)
    if counts.contacts:
        log.info("contact data in plaintext sealed: %s", counts)


def _sealed_plaintext(sealer: Sealer, row: asyncpg.Record, counts: Counts) -> bytes:
    """A row of before migration 0003: its family name, gender and birth date sealed."""
    counts.resealed += 1
    return seal_personal(sealer, row["member_id"],
                         Personal(row["family_name"], row["gender"], row["birth_date"]))


def _resealed(sealer: Sealer, keys: Sequence[bytes], member: str, field: str, blob: bytes,
              counts: Counts) -> bytes | None:
    """The value sealed anew under the current key; None when it already is, or opens
    under none of the keys."""
    context = f"{member}:{field}"
    try:
        plain = sealer.open_bytes(context, blob)
    except (ValueError, InvalidTag):
        plain = _open_first_layout(keys, member, blob)
        if plain is None:
            counts.unreadable += 1
            return None
    else:
        if sealer.is_current(blob):
            counts.current += 1
            return None
    counts.resealed += 1
    return sealer.seal(context, plain)


def _open_first_layout(keys: Sequence[bytes], member: str, blob: bytes) -> bytes | None:
    for key in keys:
        try:
            return AESGCM(key).decrypt(blob[:12], blob[12:], member.encode())
        except (ValueError, InvalidTag):
            continue
    return None


def main() -> None:
    settings = NotificationsSettings()
    settings.warn_if_development()
    current, retired = settings.contact_keys()
    sealer, keys = Sealer(current, retired), [current, *retired]
    resealing.main(__doc__, schema="notifications", per="contacts",
                   database_url=settings.database_url,
                   reseal=lambda conn, chunk: reseal(conn, sealer, keys, chunk=chunk))


if __name__ == "__main__":
    main()
