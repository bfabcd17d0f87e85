"""`python -m tools.chaos` (or `scripts/chaos`): the fault suite; exits 1 on any difference.

    --short               the CI version: 2,000 purchases, 2 kills of each service, one
                          database and one broker restart
    --seed N              the input and the faults' moments (default 1)
    --transactions N      card purchases (default 100,000)
    --kills N             kill -9 of each consumer service (default 20)
Needs KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL of deploy/local/launcher.py (it restarts them).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys

from .report import render
from .run import SHORT, Config, run


def config(argv: list[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(prog="scripts/chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the CI version")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--transactions", type=int, help="card purchases")
    parser.add_argument("--customers", type=int)
    parser.add_argument("--kills", type=int, help="kill -9 of each consumer service")
    parser.add_argument("--database-restarts", type=int)
    parser.add_argument("--broker-restarts", type=int)
    parser.add_argument("--redemption-members", type=int, help="members redeeming")
    parser.add_argument("--close-share", type=float,
                        help="share of customers closed after the card window (default 0.02)")
    parser.add_argument("--in-order", action="store_true",
                        help="the chaos run gets the input in its natural order too: faults"
                             " only, no disorder")
    parser.add_argument("--keep", action="store_true",
                        help="leave the worlds' topics and schemas for inspection")
    args = vars(parser.parse_args(argv))
    base = SHORT if args.pop("short") else Config()
    return dataclasses.replace(base, **{k: v for k, v in args.items()
                                        if v is not None and v is not False})


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s",
                        stream=sys.stderr)
    for noisy in ("aiokafka", "kafka", "httpx"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    report = asyncio.run(run(config(argv)))
    print(render(report))
    return 1 if report.differences else 0


if __name__ == "__main__":
    sys.exit(main())
