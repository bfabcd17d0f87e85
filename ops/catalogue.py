"""`loyalty-ops catalogue`: the rewards catalogue's demo files into its database. The
service seeds a catalogue never seeded at its first start; this adds the demo entries that
are missing since (a deleted row, new files), leaving every entry there as staff left it.
Running instances load what it wrote within CATALOGUE_REFRESH_SECONDS."""

from __future__ import annotations

import typer

from services.rewards.settings import read_lounges, read_offer_rows
from services.rewards.sql import catalogue as sql

from .target import Target, console, run, target

app = typer.Typer(help="The rewards catalogue: seed it from the demo files.",
                  no_args_is_help=True)


@app.command()
def seed(ctx: typer.Context) -> None:
    """Insert the demo files' offers and lounges that the database lacks."""
    async def go(t: Target) -> int:
        async with t.connect("rewards") as conn:
            return await sql.seed(conn, t.schema("rewards"), read_offer_rows(), read_lounges(),
                                  force=True)
    console.print(f"{run(go(target(ctx)))} catalogue entries written")
