"""The monthly report as one self-contained HTML page (templates/report.html).

plotly.js is embedded once in the page's head and every chart is drawn from it, so the page
works offline (mailed, archived, opened on a branch PC without internet). Text from the
figures (member ids, reasons) is HTML-escaped by the template engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import plotly.io as pio
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from services.analytics.domain.figures import ProgrammeFigures

from . import labels
from .charts import Chart, charts
from .headline import headline

#: Members to call listed on the page (the most valuable); the CSV has them all.
CALLS_SHOWN = 30
#: Charts resize with the page; no plotly logo or "edit in cloud" link.
PLOTLY_CONFIG = {"responsive": True, "displaylogo": False}


@dataclass(frozen=True, slots=True)
class DrawnChart:
    key: str
    title: str
    caption: str
    html: Markup | None


def render_html(figures: ProgrammeFigures) -> str:
    page = _environment().get_template("report.html")
    drawn = {c.key: _draw(c) for c in charts(figures)}
    calls = sorted(figures.calls, key=lambda c: c.lifetime_value, reverse=True)
    return page.render(f=figures, h=headline(figures), charts=drawn, calls=calls[:CALLS_SHOWN],
                       plotly_js=Markup(get_plotlyjs()))


def _draw(chart: Chart) -> DrawnChart:
    html = None
    if chart.figure is not None:
        html = Markup(pio.to_html(chart.figure, full_html=False, include_plotlyjs=False,
                                  div_id=f"chart-{chart.key}", config=PLOTLY_CONFIG))
    return DrawnChart(chart.key, chart.title, chart.caption, html)


def _or_dash(show: Callable) -> Callable:
    """A figure the month has not got (no retention cohort yet, say) shows as a dash."""
    return lambda value: "—" if value is None else show(value)


@cache
def _environment() -> Environment:
    env = Environment(loader=PackageLoader(__package__), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=False)
    env.filters.update(
        percent=_or_dash(labels.percent), cny=_or_dash(labels.cny),
        count=_or_dash(labels.count), month_label=labels.month_label,
        tier_label=labels.tier_label, stage_label=labels.stage_label,
        reasons_label=labels.reasons_label)
    return env
