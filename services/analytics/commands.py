"""The analytics service's commands, on the database and broker of DATABASE_URL and
KAFKA_BOOTSTRAP_SERVERS (`python -m services.analytics <command> --help`):

    report --month 2026-11 [--months 12] [--out DIR]   # the report's HTML, CSV and figures
    rebuild                                             # the read models from the topics

SERVICE_NAME (the schema and consumer group; default analytics) and TOPIC_PREFIX as for the
service.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from runtime import db

from .handlers.figures import load_figures
from .settings import AnalyticsSettings


async def report(settings: AnalyticsSettings, name: str, month: str, months: int,
                 out: Path) -> list[Path]:
    from .report import figures_to_json, write_report

    pool = await db.create_pool(settings.database_url, name, max_size=2)
    try:
        async with pool.acquire() as conn:
            figures = await load_figures(conn, month, months, model=settings.model(),
                                         cities=settings.cities())
    finally:
        await pool.close()
    files = write_report(figures, out)
    saved = out / f"programme-figures-{month}.json"
    saved.write_text(figures_to_json(figures), encoding="utf-8")
    return [files.html, files.csv, saved]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.analytics",
                                     description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser("report", help="write a month's report (HTML, CSV, figures)")
    made.add_argument("--month", required=True, help="YYYY-MM (Asia/Shanghai)")
    made.add_argument("--months", type=int, default=None,
                      help="months the series cover (default REPORT_MONTHS, 12)")
    made.add_argument("--out", type=Path, default=Path("."), help="folder to write into")
    commands.add_parser("rebuild", help="rebuild the read models from the topics' history"
                        " (stop the service first; it replays them when started)")
    args = parser.parse_args(argv)
    settings = AnalyticsSettings()
    name = os.environ.get("SERVICE_NAME") or "analytics"
    if args.command == "report":
        paths = asyncio.run(report(settings, name, args.month,
                                   args.months or settings.report_months, args.out))
        print("\n".join(map(str, paths)))
    else:
        from .rebuild import rebuild

        reset = asyncio.run(rebuild(settings, name, os.environ.get("TOPIC_PREFIX", "")))
        for topic, partitions in sorted(reset.items()):
            print(f"{topic}: {partitions} partitions rewound to their earliest offsets")
        print("read models emptied: start the service to replay the topics")
