"""Operations: partners and their signing keys. DATABASE_URL (and the service's
PARTNER_KEY_ENCRYPTION_KEY) from the environment; the secret is printed once, kept sealed
under its key id (runtime.personal_data.Sealer: the server must read it to check
signatures, so it is sealed rather than hashed) and never shown again.

    python -m services.rewards.partners create --name 龙腾出行 --scopes lounge \\
        --lounges 'PEK-*,PVG-*' --rate 50 [--id ptn_dragonpass]
    python -m services.rewards.partners rotate --partner ptn_dragonpass   # a second live key
    python -m services.rewards.partners revoke --key pk_0123456789abcdef
    python -m services.rewards.partners list
    python -m services.rewards.partners reseal    # once: secrets sealed before release 0003
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys

import asyncpg
from cryptography.exceptions import InvalidTag

from runtime import personal_data
from runtime.personal_data import Sealer

from .domain.partners import SCOPES
from .settings import RewardsSettings
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


def _list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


async def _main(args: argparse.Namespace) -> int:
    settings = RewardsSettings()
    sealer = settings.sealer()
    conn = await asyncpg.connect(settings.database_url,
                                 server_settings={"search_path": args.schema})
    try:
        if args.command == "create":
            partner_id, key_id, secret = await create_partner(
                conn, sealer, name=args.name, scopes=_list(args.scopes),
                lounges=_list(args.lounges), offers=_list(args.offers), rate=args.rate,
                partner_id=args.id)
            print(f"partner {partner_id} created")
        elif args.command == "rotate":
            key_id, secret, revoked = await rotate(conn, sealer, args.partner)
            for old in revoked:
                print(f"revoked {old}")
        elif args.command == "revoke":
            if not await sql.revoke_key(conn, args.key):
                print(f"no live key {args.key}", file=sys.stderr)
                return 1
            print(f"revoked {args.key}")
            return 0
        elif args.command == "reseal":
            for key_id in await reseal(conn, settings.partner_key()):
                print(f"resealed {key_id}")
            return 0
        else:
            for row in await sql.partners_and_live_keys(conn):
                print(f"{row['id']}\t{row['name']}\t{','.join(row['scopes'])}"
                      f"\t{row['rate_per_second']}/s\tkeys: {', '.join(row['live_keys'] or [])}")
            return 0
    finally:
        await conn.close()
    print(f"key id: {key_id}")
    print(f"secret: {secret}")
    print("The secret is shown this once; give it to the partner over a secure channel.")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", default="rewards", help="the service's schema")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create a partner and print its first key")
    create.add_argument("--name", required=True)
    create.add_argument("--scopes", required=True, help="comma-separated: lounge,offers")
    create.add_argument("--lounges", default="", help="lounge ids or patterns, e.g. 'PEK-*'")
    create.add_argument("--offers", default="", help="offer ids or patterns")
    create.add_argument("--rate", type=int, default=50, help="requests per second")
    create.add_argument("--id", help="partner id (default: generated)")
    rotate_cmd = sub.add_parser("rotate", help="add a live key (the older of two is revoked)")
    rotate_cmd.add_argument("--partner", required=True)
    revoke = sub.add_parser("revoke", help="revoke a key")
    revoke.add_argument("--key", required=True)
    sub.add_parser("list", help="partners and their live key ids")
    sub.add_parser("reseal", help="seal secrets of before migration 0003 in today's layout")
    sys.exit(asyncio.run(_main(parser.parse_args())))


if __name__ == "__main__":
    main()
