"""`loyalty-ops partners`: partners of the signed API and their keys
(services/rewards/partners.py holds the logic; PARTNER_KEY_ENCRYPTION_KEY from the
environment, as the service has it). A secret is printed once, when its key is made."""

from __future__ import annotations

import json
from typing import Annotated

import asyncpg
import typer
from rich.table import Table

from services.rewards import partners
from services.rewards.settings import RewardsSettings
from services.rewards.sql import partners as sql

from .target import Target, console, fail, run, split, target

app = typer.Typer(help="Partners: create, list, rotate and revoke keys, set terms.",
                  no_args_is_help=True)

Partner = Annotated[str, typer.Option("--partner", help="the partner's id")]
Json = Annotated[bool, typer.Option("--json", help="print the key as JSON (for scripts)")]
Scopes = Annotated[str | None, typer.Option(help="comma-separated: lounge,offers")]
Lounges = Annotated[str | None, typer.Option(help="lounge ids or patterns, e.g. 'PEK-*'")]
Offers = Annotated[str | None, typer.Option(help="offer ids or patterns, e.g. 'off_coffee_*'")]
Rate = Annotated[int | None, typer.Option(min=1, help="requests per second")]


def _key(partner_id: str, key_id: str, secret: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"partner_id": partner_id, "key_id": key_id, "secret": secret}))
        return
    console.print(f"partner: {partner_id}\nkey id:  {key_id}\nsecret:  {secret}\n"
                  "The secret is shown this once; give it to the partner over a secure"
                  " channel.")


@app.command()
def create(ctx: typer.Context, name: Annotated[str, typer.Option()],
           scopes: Annotated[str, typer.Option(help="comma-separated: lounge,offers")],
           lounges: Lounges = "", offers: Offers = "", rate: Rate = 50,
           id: Annotated[str | None, typer.Option(help="partner id (default: made up)")] = None,
           as_json: Json = False) -> None:
    """Create a partner and its first key."""
    async def go(t: Target):
        async with t.connect("rewards") as conn:
            return await partners.create_partner(
                conn, RewardsSettings().sealer(), name=name, scopes=split(scopes),
                lounges=split(lounges), offers=split(offers), rate=rate, partner_id=id)
    try:
        partner_id, key_id, secret = run(go(target(ctx)))
    except ValueError as exc:
        fail(str(exc))
    _key(partner_id, key_id, secret, as_json)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """Partners, their terms and live key ids."""
    async def go(t: Target):
        async with t.connect("rewards") as conn:
            return await sql.partners_and_live_keys(conn)
    rows = run(go(target(ctx)))
    table = Table("partner", "name", "scopes", "rate/s", "live keys")
    for r in rows:
        table.add_row(r["id"], r["name"], ",".join(r["scopes"]), str(r["rate_per_second"]),
                      ", ".join(r["live_keys"] or []))
    console.print(table)
    console.print(f"{len(rows)} partners")


@app.command()
def rotate(ctx: typer.Context, partner: Partner, as_json: Json = False) -> None:
    """A new live key; of more than two live keys the oldest is revoked."""
    async def go(t: Target):
        async with t.connect("rewards") as conn:
            return await partners.rotate(conn, RewardsSettings().sealer(), partner)
    try:
        key_id, secret, revoked = run(go(target(ctx)))
    except asyncpg.ForeignKeyViolationError:
        fail(f"no partner {partner}", 1)
    _key(partner, key_id, secret, as_json)
    if revoked and not as_json:
        console.print(f"revoked {', '.join(revoked)}")


@app.command()
def revoke(ctx: typer.Context,
           key: Annotated[str, typer.Option(help="the key id, e.g. pk_0123456789abcdef")]) -> None:
    """Revoke a key: requests signed with it are refused from now on."""
    async def go(t: Target):
        async with t.connect("rewards") as conn:
            return await sql.revoke_key(conn, key)
    if not run(go(target(ctx))):
        fail(f"no live key {key}", 1)
    console.print(f"revoked {key}")


@app.command("set")
def set_(ctx: typer.Context, partner: Partner, scopes: Scopes = None, lounges: Lounges = None,
         offers: Offers = None, rate: Rate = None) -> None:
    """Change a partner's scopes, lounges, offers or rate (what is not given stays)."""
    async def go(t: Target):
        async with t.connect("rewards") as conn:
            return await partners.set_terms(
                conn, partner, scopes=None if scopes is None else split(scopes),
                lounges=None if lounges is None else split(lounges),
                offers=None if offers is None else split(offers), rate=rate)
    try:
        row = run(go(target(ctx)))
    except ValueError as exc:
        fail(str(exc))
    if row is None:
        fail(f"no partner {partner}", 1)
    console.print(f"{row['id']}: scopes {','.join(row['scopes'])}; lounges"
                  f" {','.join(row['lounges']) or '-'}; offers {','.join(row['offers']) or '-'};"
                  f" {row['rate_per_second']}/s")
