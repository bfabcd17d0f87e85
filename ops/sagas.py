"""`loyalty-ops sagas`: points-paid redemptions pending in rewards, waiting for the points
service's answer (services/rewards/sagas.py holds what retry and expire do)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from services.rewards import sagas
from services.rewards.sql import sagas as sql

from .target import Target, chosen, console, in_unit, run, target

app = typer.Typer(help="Pending points-paid redemptions: list, retry, expire.",
                  no_args_is_help=True)

Older = Annotated[float, typer.Option(help="only those pending longer than this (seconds)")]
Ids = Annotated[str | None, typer.Option(help="comma-separated redemption ids")]


async def _pending(t: Target, older: float, ids: list[str] | None, limit: int):
    async with t.connect("rewards") as conn:
        return await sql.pending(conn, older_than_seconds=older, ids=ids, limit=limit)


@app.command("list")
def list_(ctx: typer.Context, older: Older = 0, limit: int = 1000) -> None:
    """Pending redemptions, oldest first, with their age."""
    now = datetime.now(UTC)
    rows = run(_pending(target(ctx), older, None, limit))
    table = Table("redemption", "partner", "member", "kind", "item", "points", "age (s)")
    for r in rows:
        table.add_row(r.id, r.partner_id, r.member_id, r.kind, r.item_id, str(r.points),
                      f"{(now - r.created_at).total_seconds():.0f}")
    console.print(table)
    console.print(f"{len(rows)} pending redemptions")


async def _ids(t: Target, older: float, ids: list[str] | None) -> list[str]:
    return [r.id for r in await _pending(t, older, ids, 100_000)]


@app.command()
def retry(ctx: typer.Context, ids: Ids = None, older: Older = 0) -> None:
    """Ask the points service again for the chosen pending redemptions' debits."""
    t, ids_ = chosen(ctx, ids, older, "redemptions", _ids)
    asked = run(in_unit(t, "rewards", sagas.retry, ids_))
    console.print(f"{len(asked)} pending redemptions asked again")


@app.command()
def expire(ctx: typer.Context, ids: Ids = None, older: Older = 0) -> None:
    """Time the chosen pending redemptions out now (rejected `timed_out`; a debit landing
    later is refunded)."""
    t, ids_ = chosen(ctx, ids, older, "redemptions", _ids)
    expired = run(in_unit(t, "rewards", lambda uow, ids: sagas.expire(uow, ids, t.database_url),
                          ids_))
    console.print(f"{len(expired)} pending redemptions expired")

