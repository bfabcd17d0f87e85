"""`loyalty-ops reseal`: personal data and partner secrets sealed anew under the current
key after a key rotation (each service's own reseal module does it, chunk by chunk, and can
simply run again; keys from the service's environment)."""

from __future__ import annotations

from typing import Annotated

import typer

from services.accounts import reseal as accounts_reseal
from services.accounts.settings import AccountsSettings
from services.notifications import reseal as notifications_reseal
from services.notifications.settings import NotificationsSettings
from services.rewards import partners
from services.rewards.settings import RewardsSettings

from .target import Target, console, run, target

app = typer.Typer(help="Re-seal under the current key: members, contacts, partner secrets.",
                  no_args_is_help=True)
Chunk = Annotated[int, typer.Option(min=1, help="rows per transaction")]


@app.command()
def members(ctx: typer.Context, chunk: Chunk = 500) -> None:
    """Members' personal data in accounts (PII_KEY, RETIRED_PII_KEYS); exit 1 if a value
    opens under none of the keys."""
    async def go(t: Target):
        async with t.connect("accounts") as conn:
            return await accounts_reseal.reseal(conn, AccountsSettings().sealer(), chunk=chunk)
    counts = run(go(target(ctx)))
    console.print(str(counts))
    if counts.unreadable:
        raise typer.Exit(1)


@app.command()
def contacts(ctx: typer.Context, chunk: Chunk = 500) -> None:
    """Contacts in notifications (CONTACT_KEY, RETIRED_CONTACT_KEYS); exit 1 if a value
    opens under none of the keys."""
    async def go(t: Target):
        settings = NotificationsSettings()
        current, retired = settings.contact_keys()
        async with t.connect("notifications") as conn:
            return await notifications_reseal.reseal(conn, settings.sealer(),
                                                     [current, *retired], chunk=chunk)
    counts = run(go(target(ctx)))
    console.print(str(counts))
    if counts.unreadable:
        raise typer.Exit(1)


@app.command("partner-secrets")
def partner_secrets(ctx: typer.Context) -> None:
    """Once: partner secrets sealed before rewards migration 0003, in today's layout."""
    async def go(t: Target):
        async with t.connect("rewards") as conn:
            return await partners.reseal(conn, RewardsSettings().partner_key())
    console.print(f"{len(run(go(target(ctx))))} secrets resealed")
