"""`python -m services.analytics.report FIGURES.json [--out DIR]`: writes the HTML page and
the CSV of a month's report from its figures saved as JSON (figures_to_json), and prints
their paths. The analytics service makes the figures from its database."""

from __future__ import annotations

import argparse
from pathlib import Path

from .files import figures_from_json, write_report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.analytics.report",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("figures", type=Path, help="a month's ProgrammeFigures as JSON")
    parser.add_argument("--out", type=Path, default=Path("."),
                        help="the folder to write into (default: the current one)")
    args = parser.parse_args(argv)
    files = write_report(figures_from_json(args.figures.read_bytes()), args.out)
    print(files.html)
    print(files.csv)


if __name__ == "__main__":
    main()
