"""The monthly programme report, rendered from ProgrammeFigures (domain/figures.py): an HTML
page with charts (page.py, charts.py) and a long-format CSV (table.py), written to disk by
files.py; `python -m services.analytics.report FIGURES.json` renders saved figures."""

from .files import ReportFiles, figures_from_json, figures_to_json, write_report
from .page import render_html
from .table import render_csv

__all__ = ["ReportFiles", "figures_from_json", "figures_to_json", "render_csv", "render_html",
           "write_report"]
