"""`loyalty-ops refunds`: refunds parked in points until their purchase comes
(services/points/parked.py holds what retry and expire do)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from services.points import parked
from services.points.sql import parked as sql

from .target import Target, chosen, console, in_unit, run, target

app = typer.Typer(help="Refunds parked for their purchase: list, retry, expire.",
                  no_args_is_help=True)

Older = Annotated[float, typer.Option(help="only those parked longer than this (seconds)")]
Ids = Annotated[str | None, typer.Option(help="comma-separated refund ids")]


async def _parked(t: Target, older: float, ids: list[str] | None, limit: int):
    async with t.connect("points") as conn:
        return await sql.parked(conn, older_than_seconds=older, refund_ids=ids, limit=limit)


@app.command("list")
def list_(ctx: typer.Context, older: Older = 0, limit: int = 1000) -> None:
    """Parked refunds, oldest first: since when, whether operations were told, whether
    their purchase has come since."""
    rows = run(_parked(target(ctx), older, None, limit))
    table = Table("refund", "purchase", "member", "parked at", "dead-lettered", "purchase in")
    for r in rows:
        table.add_row(r["refund_id"], r["transaction_id"], r["member_id"],
                      r["received_at"].isoformat(timespec="seconds"),
                      "yes" if r["dead_lettered_at"] else "", "yes" if r["purchase_in"] else "")
    console.print(table)
    console.print(f"{len(rows)} parked refunds")


async def _ids(t: Target, older: float, ids: list[str] | None) -> list[str]:
    return [r["refund_id"] for r in await _parked(t, older, ids, 100_000)]


@app.command()
def retry(ctx: typer.Context, ids: Ids = None, older: Older = 0) -> None:
    """Apply the chosen parked refunds whose purchase has arrived."""
    t, ids_ = chosen(ctx, ids, older, "refunds", _ids)
    applied = run(in_unit(t, "points", parked.retry, ids_))
    console.print(f"{len(applied)} refunds applied, {len(set(ids_) - set(applied))} still"
                  " waiting for their purchase")


@app.command()
def expire(ctx: typer.Context, ids: Ids = None, older: Older = 0) -> None:
    """Stop waiting for the chosen refunds' purchases (dead-lettered if not yet)."""
    t, ids_ = chosen(ctx, ids, older, "refunds", _ids)
    expired = run(in_unit(t, "points", parked.expire, ids_))
    console.print(f"{len(expired)} parked refunds expired")

