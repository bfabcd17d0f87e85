"""`loyalty-ops reconcile`: the points ledger's invariants (services/points/invariants.py)
and rewards against points (sql/reconcile.py); exits 1 when anything is off."""

from __future__ import annotations

from typing import Annotated

import asyncpg
import typer
from rich.table import Table

from services.points import invariants
from services.points.sql.ledger import INVARIANTS

from .sql import reconcile as sql
from .target import Target, console, errors, run, target

InFlight = Annotated[float, typer.Option(
    help="seconds a cancellation or a late debit may still be on its way")]
PendingBound = Annotated[float, typer.Option(
    help="seconds a points-paid redemption may stay pending")]


def reconcile(ctx: typer.Context, in_flight: InFlight = 60, pending_bound: PendingBound = 300
              ) -> None:
    """Check that the ledger adds up and that rewards and points agree (exit 1 if not)."""
    broken = run(_check(target(ctx), in_flight, pending_bound))
    table = Table("check", "result")
    for name in [*INVARIANTS, *sql.CHECKS]:
        rows = broken.get(name)
        table.add_row(name, f"[red]{len(rows)} off[/red]" if rows else "ok")
    console.print(table)
    for name, rows in broken.items():
        errors.print(f"OFF: {name}")
        for row in rows:
            errors.print(f"    {dict(row)}")
    checks = len(INVARIANTS) + len(sql.CHECKS)
    console.print(f"{checks - len(broken)} of {checks} checks hold")
    if broken:
        raise typer.Exit(1)


async def _check(t: Target, in_flight: float,
                 pending_bound: float) -> dict[str, list[asyncpg.Record]]:
    async with t.connect("points") as conn:
        broken = await invariants.check(conn)
    async with t.connect() as conn:
        broken |= await sql.rewards_against_points(
            conn, t.schema("rewards"), t.schema("points"), in_flight, pending_bound)
    return broken
