"""The report on disk: `write_report` writes a month's HTML page and CSV side by side, and
`figures_from_json`/`figures_to_json` keep ProgrammeFigures as JSON (pydantic checks the
shapes and keeps CNY amounts as decimals), so a report can be rendered again later or
elsewhere from the figures alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import TypeAdapter

from services.analytics.domain.figures import ProgrammeFigures

from .page import render_html
from .table import render_csv

_FIGURES = TypeAdapter(ProgrammeFigures)


@dataclass(frozen=True, slots=True)
class ReportFiles:
    html: Path
    csv: Path


def write_report(figures: ProgrammeFigures, out_dir: Path | str) -> ReportFiles:
    """Writes `programme-report-YYYY-MM.html` and `.csv` into `out_dir` (made if missing).
    The CSV starts with a byte order mark, so that Excel reads it as UTF-8."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(out / f"programme-report-{figures.month}.html",
                        out / f"programme-report-{figures.month}.csv")
    files.html.write_text(render_html(figures), encoding="utf-8")
    files.csv.write_text(render_csv(figures), encoding="utf-8-sig")
    return files


def figures_from_json(text: str | bytes) -> ProgrammeFigures:
    return _FIGURES.validate_json(text)


def figures_to_json(figures: ProgrammeFigures) -> str:
    return _FIGURES.dump_json(figures, indent=1).decode()
