"""Operations: partners and their signing keys. DATABASE_URL (and the service's
PARTNER_KEY_ENCRYPTION_KEY) from the environment; the secret is printed once, never stored
in clear and never shown again.

    python -m services.rewards.partners create --name 龙腾出行 --scopes lounge \\
        --lounges 'PEK-*,PVG-*' --rate 50 [--id ptn_dragonpass]
    python -m services.rewards.partners rotate --partner ptn_dragonpass   # a second live key
    python -m services.rewards.partners revoke --key pk_0123456789abcdef
    python -m services.rewards.partners list
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys

import asyncpg

from . import keys, rewards_sql
from .domain.partners import SCOPES
from .settings import RewardsSettings


async def create_partner(conn: asyncpg.Connection, encryption_key: bytes, *, name: str,
                         scopes: list[str], lounges: list[str], offers: list[str], rate: int,
                         partner_id: str | None = None) -> tuple[str, str, str]:
    """(partner id, key id, secret): the one moment the secret exists in clear."""
    if unknown := set(scopes) - set(SCOPES):
        raise ValueError(f"unknown scopes {sorted(unknown)}; known: {SCOPES}")
    partner_id = partner_id or f"ptn_{secrets.token_hex(6)}"
    async with conn.transaction():
        await rewards_sql.create_partner(conn, partner_id, name, scopes, lounges, offers, rate)
        key_id, secret, _ = await rotate(conn, encryption_key, partner_id)
    return partner_id, key_id, secret


async def rotate(conn: asyncpg.Connection, encryption_key: bytes,
                 partner_id: str) -> tuple[str, str, list[str]]:
    """A new live key; the older of two live keys is revoked (two stay live for rotation)."""
    key_id, secret = keys.new_key_id(), keys.new_secret()
    async with conn.transaction():
        revoked = await rewards_sql.add_key(conn, partner_id, key_id,
                                            keys.encrypt(encryption_key, key_id, secret))
    return key_id, secret, revoked


def _list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


async def _main(args: argparse.Namespace) -> int:
    settings = RewardsSettings()
    encryption_key = settings.encryption_key()
    conn = await asyncpg.connect(settings.database_url,
                                 server_settings={"search_path": args.schema})
    try:
        if args.command == "create":
            partner_id, key_id, secret = await create_partner(
                conn, encryption_key, name=args.name, scopes=_list(args.scopes),
                lounges=_list(args.lounges), offers=_list(args.offers), rate=args.rate,
                partner_id=args.id)
            print(f"partner {partner_id} created")
        elif args.command == "rotate":
            key_id, secret, revoked = await rotate(conn, encryption_key, args.partner)
            for old in revoked:
                print(f"revoked {old}")
        elif args.command == "revoke":
            if not await rewards_sql.revoke_key(conn, args.key):
                print(f"no live key {args.key}", file=sys.stderr)
                return 1
            print(f"revoked {args.key}")
            return 0
        else:
            for row in await conn.fetch(
                    "SELECT p.id, p.name, p.scopes, p.rate_per_second,"
                    " array_agg(k.key_id ORDER BY k.created_at) FILTER"
                    " (WHERE k.revoked_at IS NULL) AS live_keys"
                    " FROM partners p LEFT JOIN partner_keys k ON k.partner_id = p.id"
                    " GROUP BY p.id ORDER BY p.id"):
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
    sys.exit(asyncio.run(_main(parser.parse_args())))


if __name__ == "__main__":
    main()
