"""The monthly report for a simulated year, opened in a real headless browser (Debian's
Chromium): the page renders, every chart is drawn with all its traces and each trace with
all its data points, and a screenshot is kept as a build artifact. Two years: figures made
up directly, and the analytics service's measures over a simulated population
(analytics_report_year.py). The artifacts go to LOYALTY_ARTIFACTS (default artifacts/):
analytics-report/{simulated,measured}/ with the page, its CSV and screenshot.png.

Chromium missing fails the test (scripts/bootstrap installs it), it never skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from services.analytics.report import write_report
from services.analytics.report.charts import charts
from tests.integration.analytics_report_year import measured_year, simulated_year

ROOT = Path(__file__).resolve().parents[2]
#: Wide enough for the two-column layout, tall enough for the whole page.
WINDOW = "1400,4800"
#: Virtual time for plotly.js (4.8 MB, in the page) to load and draw every chart.
BUDGET_MS = "20000"


def artifacts(name: str) -> Path:
    out = Path(os.environ.get("LOYALTY_ARTIFACTS") or ROOT / "artifacts") / "analytics-report"
    return out / name


def chromium(page: Path, *args: str, profile: Path) -> subprocess.CompletedProcess:
    browser = shutil.which("chromium")
    assert browser, "Debian's chromium is not installed: run scripts/bootstrap"
    return subprocess.run(
        # As root Chromium needs --no-sandbox; the page is our own file.
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--user-data-dir={profile}", f"--window-size={WINDOW}",
         f"--virtual-time-budget={BUDGET_MS}", *args, page.as_uri()],
        capture_output=True, text=True, timeout=180, check=True)


class DrawnCharts(HTMLParser):
    """Reads the DOM as the browser left it: for each chart (div#chart-KEY), the traces
    plotly drew (g.trace, g.hm for heatmaps) and, per trace, its marks with geometry (bars,
    lines, markers, boxes: a path with a real `d`; heatmaps: their rendered image)."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
            "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, list[int]] = {}
        self._stack: list[tuple[str | None, bool]] = []  # (chart, is a trace) per open tag

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        chart = self._stack[-1][0] if self._stack else None
        if tag == "div" and (a.get("id") or "").startswith("chart-"):
            chart = a["id"].removeprefix("chart-")
            self.charts[chart] = []
        trace = chart is not None and tag == "g" and (classes[:1] == ["trace"]
                                                      or classes == ["hm"])
        if trace:
            self.charts[chart].append(0)
        elif chart and any(is_trace for _, is_trace in self._stack) and self._mark(tag, a):
            self.charts[chart][-1] += 1
        if tag not in self.VOID:
            self._stack.append((chart, trace))

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self._stack:
            self._stack.pop()

    @staticmethod
    def _mark(tag: str, a: dict[str, str | None]) -> bool:
        if tag == "path":
            return (a.get("d") or "M0,0Z") not in ("M0,0Z", "M0,0")
        if tag == "image":
            return (a.get("xlink:href") or a.get("href") or "").startswith("data:image/png")
        return False


@pytest.mark.parametrize("year", [simulated_year, measured_year], ids=["simulated", "measured"])
def test_the_report_of_a_year_renders_in_chromium_with_data_in_every_chart(year, tmp_path):
    figures = year()
    out = artifacts(year.__name__.removesuffix("_year"))
    files = write_report(figures, out)
    drawable = {c.key: c.figure for c in charts(figures)}
    assert None not in drawable.values(), "the simulated year has figures for every chart"
    # Per trace, a mark per data point at least (a line adds one; a heatmap is one image).
    expected = {key: [1 if t.type == "heatmap" else len(t.x) for t in figure.data]
                for key, figure in drawable.items()}

    # The page's console goes to stderr: no script error, nor any warning.
    loaded = chromium(files.html, "--dump-dom", "--enable-logging=stderr",
                      profile=tmp_path / "dom")
    assert [line for line in loaded.stderr.splitlines() if ":CONSOLE" in line] == []
    dom = loaded.stdout
    assert "Loyalty programme report: Dec 2026" in dom
    drawn = DrawnCharts()
    drawn.feed(dom)
    assert set(drawn.charts) == set(expected), "every chart is on the page"
    for key, marks in drawn.charts.items():
        assert len(marks) == len(expected[key]), f"{key}: every trace drawn ({marks})"
        assert all(m >= n > 0 for m, n in zip(marks, expected[key], strict=True)), (
            f"{key}: every data point drawn ({marks}, expected {expected[key]})")

    shot = out / "screenshot.png"
    shot.unlink(missing_ok=True)
    chromium(files.html, f"--screenshot={shot}", profile=tmp_path / "shot")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 100_000, "a screenshot of a drawn page, not a blank one"
    print(f"report screenshot: {shot}")
