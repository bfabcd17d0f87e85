"""Partners and their signing keys: the logic of `loyalty-ops partners` (ops/partners.py).
A secret is returned once, when its key is made, kept sealed under its key id
(runtime.personal_data.Sealer: the server must read it to check signatures, so it is
sealed rather than hashed) and never shown again.
"""

from __future__ import annotations

import secrets

import asyncpg
from cryptography.exceptions import InvalidTag

from runtime import personal_data
from runtime.personal_data import Sealer

from .domain.partners import SCOPES
from .sql import partners as sql


def new_key_id() -> str:
    return f"pk_{secrets.token_hex(8)}"


def new_secret() -> str:
    return f"sk_{secrets.token_urlsafe(32)}"


async def create_partner(conn: asyncpg.Connection, sealer: Sealer, *, name: str,
                         scopes: list[str], lounges: list[str], offers: list[str], rate: int,
                         partner_id: str | None = None) -> tuple[str, str, str]:
    """(partner id, key id, secret): the one moment the secret exists in clear."""
    if unknown := set(scopes) - set(SCOPES):
        raise ValueError(f"unknown scopes {sorted(unknown)}; known: {SCOPES}")
    partner_id = partner_id or f"ptn_{secrets.token_hex(6)}"
    async with conn.transaction():
        await sql.create_partner(conn, partner_id, name, scopes, lounges, offers, rate)
        key_id, secret, _ = await rotate(conn, sealer, partner_id)
    return partner_id, key_id, secret


async def rotate(conn: asyncpg.Connection, sealer: Sealer,
                 partner_id: str) -> tuple[str, str, list[str]]:
    """A new live key; the older of two live keys is revoked (two stay live for rotation)."""
    key_id, secret = new_key_id(), new_secret()
    async with conn.transaction():
        revoked = await sql.add_key(conn, partner_id, key_id, sealer.seal(key_id, secret))
    return key_id, secret, revoked


async def set_terms(conn: asyncpg.Connection, partner_id: str, *,
                    scopes: list[str] | None = None, lounges: list[str] | None = None,
                    offers: list[str] | None = None,
                    rate: int | None = None) -> asyncpg.Record | None:
    """Change what a partner may do (None leaves it as it is); None if there is no such
    partner."""
    if scopes is not None and (unknown := set(scopes) - set(SCOPES)):
        raise ValueError(f"unknown scopes {sorted(unknown)}; known: {SCOPES}")
    return await sql.update_partner(conn, partner_id, scopes=scopes, lounges=lounges,
                                    offers=offers, rate=rate)


async def reseal(conn: asyncpg.Connection, key: bytes) -> list[str]:
    """Give secrets sealed before migration 0003 the runtime's layout; the key ids changed.
    They were the same AES-256-GCM under the same key with the key id as associated data,
    only without the layout's header (version, key id); each is checked by opening it."""
    sealer = Sealer(key)
    header = bytes([personal_data.VERSION]) + personal_data.key_id(key)
    changed = []
    async with conn.transaction():
        for key_id, sealed in await sql.sealed_secrets(conn):
            try:
                sealer.open_bytes(key_id, sealed)
                continue  # sealed in the layout already
            except (ValueError, InvalidTag):
                pass
            sealer.open_bytes(key_id, header + sealed)  # raises unless the older layout
            await sql.replace_sealed_secret(conn, key_id, header + sealed)
            changed.append(key_id)
    return changed
