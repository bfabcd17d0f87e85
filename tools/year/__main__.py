"""python -m tools.year [--start 2026-01-01] [--end 2026-12-31] [--members 0 1 ...] [--markdown F]:
runs the simulated year on the broker and database of KAFKA_BOOTSTRAP_SERVERS and
DATABASE_URL, prints the messages each sample member received and the checks; exits 1
when a check is broken."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import date
from pathlib import Path

from .report import checks, render
from .run import simulate


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.year", description=__doc__)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 1, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 12, 31))
    parser.add_argument("--members", type=int, nargs="+", default=list(range(5)),
                        choices=range(5), help="which of the cast (default: all five)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--markdown", type=Path, help="also write the report here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    year = asyncio.run(simulate(args.start, args.end, args.members, args.seed,
                                progress=lambda line: print(line, file=sys.stderr)))
    print(render(year))
    if args.markdown:
        args.markdown.write_text(render(year, markdown=True), encoding="utf-8")
    sys.exit(1 if any(checks(year).values()) else 0)


if __name__ == "__main__":
    main()
