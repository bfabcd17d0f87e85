"""`loyalty-ops`: the root command, its options (where the platform is) and its command
groups, one module each."""

from __future__ import annotations

from typing import Annotated

import typer

from . import catalogue, dead_letters, members, partners, reconcile, refunds, reseal, sagas
from .target import from_environment

app = typer.Typer(name="loyalty-ops", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False,
                  help="Operations on the loyalty platform (DATABASE_URL and"
                       " KAFKA_BOOTSTRAP_SERVERS from the environment).")


def _schema(service: str) -> object:
    return typer.Option(help=f"the {service} service's schema (and consumer group)",
                        envvar=f"OPS_{service.upper()}_SCHEMA")


@app.callback()
def main(ctx: typer.Context,
         topic_prefix: Annotated[str | None, typer.Option(
             help="topic prefix of a copy of the platform (default: TOPIC_PREFIX)")] = None,
         points_schema: Annotated[str, _schema("points")] = "points",
         rewards_schema: Annotated[str, _schema("rewards")] = "rewards",
         accounts_schema: Annotated[str, _schema("accounts")] = "accounts",
         notifications_schema: Annotated[str, _schema("notifications")] = "notifications",
         ) -> None:
    # Read when a command needs it, so that `--help` works without the environment.
    ctx.obj = lambda: from_environment(topic_prefix, {
        "points": points_schema, "rewards": rewards_schema, "accounts": accounts_schema,
        "notifications": notifications_schema})


app.add_typer(dead_letters.app, name="dead-letters")
app.add_typer(refunds.app, name="refunds")
app.add_typer(sagas.app, name="sagas")
app.command("reconcile")(reconcile.reconcile)
app.add_typer(partners.app, name="partners")
app.add_typer(members.app, name="members")
app.add_typer(reseal.app, name="reseal")
app.add_typer(catalogue.app, name="catalogue")
