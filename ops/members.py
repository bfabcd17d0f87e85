"""`loyalty-ops members`: a member found by customer id, or by mobile number through its
keyed hash (`lookup_hash`, PII_HASH_KEY), shown masked: personal data opened with PII_KEY
(the accounts service's keys, from the environment) only to be masked."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from runtime.personal_data import lookup_hash, mask_mobile, mask_openid
from services.accounts.personal import open_personal, sealing_context
from services.accounts.settings import AccountsSettings
from services.accounts.sql import members as members_sql
from services.accounts.sql import tiers as tiers_sql

from .sql import members as sql
from .target import Target, console, fail, run, target

app = typer.Typer(help="Members: look up by customer id or mobile number (masked).",
                  no_args_is_help=True)


def e164(mobile: str) -> str:
    digits = "".join(c for c in mobile if c.isdigit())
    return f"+86{digits[-11:]}" if len(digits) >= 11 else mobile


async def _view(t: Target, member_ids: list[str]) -> list[dict[str, str]]:
    sealer = AccountsSettings().sealer()  # the current key and the retired ones
    views = []
    async with t.connect("accounts") as conn:
        for member_id in member_ids:
            row = await members_sql.member_profile(conn, member_id)
            if row is None:
                continue
            tier = await tiers_sql.tier_row(conn, member_id)
            mobile = row["mobile_enc"] and sealer.open(sealing_context(member_id, "mobile"),
                                                       row["mobile_enc"])
            openid = row["openid_enc"] and sealer.open(
                sealing_context(member_id, "wechat_openid"), row["openid_enc"])
            personal = open_personal(sealer, member_id, row)
            views.append({
                "member": member_id, "status": row["status"],
                "name": f"{personal.family_name}*" if personal else "",
                "mobile": mask_mobile(mobile) if mobile else "",
                "wechat": mask_openid(openid) if openid else "",
                "tier": tier["tier"] if tier else "",
                "enrolled": row["enrolled_at"].date().isoformat() if row["enrolled_at"] else "",
                "closed": row["closed_at"].date().isoformat() if row["closed_at"] else ""})
    async with t.connect() as conn:
        for view in views:
            points = await sql.balance(conn, t.schema("points"), view["member"])
            view["points"] = "" if points is None else str(points)
            done = await sql.redemptions(conn, t.schema("rewards"), view["member"])
            view["redemptions"] = ", ".join(f"{n} {s}" for s, n in done.items())
    return views


def _show(views: list[dict[str, str]]) -> None:
    if not views:
        fail("no such member", 1)
    table = Table(*views[0])
    for view in views:
        table.add_row(*view.values())
    console.print(table)


@app.command()
def show(ctx: typer.Context, member_id: Annotated[str, typer.Argument(
        help="customer id, e.g. C0012345678")]) -> None:
    """A member by customer id."""
    _show(run(_view(target(ctx), [member_id])))


@app.command()
def find(ctx: typer.Context, mobile: Annotated[str, typer.Option(
        help="mobile number, +86 optional (better typed at the prompt than in the shell"
             " history)", prompt=True, hide_input=True)]) -> None:
    """Members by mobile number, through its keyed hash."""
    async def go(t: Target) -> list[dict[str, str]]:
        _, hash_key = AccountsSettings().pii_keys()
        async with t.connect("accounts") as conn:
            ids = await members_sql.member_ids_by_mobile_hash(conn,
                                                              lookup_hash(hash_key, e164(mobile)))
        return await _view(t, ids)
    _show(run(go(target(ctx))))
