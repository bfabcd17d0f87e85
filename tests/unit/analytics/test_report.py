"""The monthly report rendered from hand-built figures: every section on the page, plotly.js
embedded once, text escaped, empty sections said so; the CSV's rows are the figures."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from decimal import Decimal

from plotly.offline import get_plotlyjs

from services.analytics.api import figures_json
from services.analytics.domain.figures import (
    ALL,
    CallNeeded,
    Count,
    LoungeUse,
    Move,
    PointsMonth,
    ProgrammeFigures,
    Reach,
    Redemptions,
    Retention,
    ValuableMember,
    ValueDistribution,
)
from services.analytics.report import (
    figures_from_json,
    figures_to_json,
    render_csv,
    render_html,
    write_report,
)
from services.analytics.report.__main__ import main
from services.analytics.report.charts import charts
from services.analytics.report.page import CALLS_SHOWN

CHARTS = ("retention", "churn", "lifetime-value", "stages", "stage-moves", "tier-mix",
          "tier-moves", "points", "redemptions", "lounges", "reach")


def two_months() -> ProgrammeFigures:
    months = ["2026-05", "2026-06"]
    return ProgrammeFigures(
        month="2026-06", months=months, tiers=["standard", "gold"],
        retention=[Retention("2026-05", ALL, 100, 95, 5), Retention("2026-05", "gold", 20, 20, 0),
                   Retention("2026-06", ALL, 110, 99, 11),
                   Retention("2026-06", "gold", 25, 24, 1)],
        lifetime_value=[ValueDistribution("standard", 90, Decimal("180000.00"),
                                          Decimal("2000.00"), Decimal("300"), Decimal("800"),
                                          Decimal("1500"), Decimal("2600"), Decimal("4100")),
                        ValueDistribution("gold", 25, Decimal("300000.00"),
                                          Decimal("12000.00"), Decimal("2000"),
                                          Decimal("6000"), Decimal("10000"),
                                          Decimal("16000"), Decimal("25000"))],
        stages=[Count("2026-06", "growth", 40), Count("2026-06", "trial", 30),
                Count("2026-06", "decline", 5)],
        stage_moves=[Move("2026-06", "trial", "growth", 4),
                     Move("2026-06", "growth", "decline", 2)],
        tier_mix=[Count("2026-05", "standard", 85), Count("2026-05", "gold", 20),
                  Count("2026-06", "standard", 90), Count("2026-06", "gold", 25)],
        tier_moves=[Move("2026-06", "standard", "gold", 5), Move("2026-06", "gold", "gold", 20)],
        points=[PointsMonth("2026-05", 50_000, 20_000, 1_000, 400_000, Decimal("4000.00")),
                PointsMonth("2026-06", 60_000, 30_000, 2_000, 428_000, Decimal("4280.00"))],
        breakage_rate=3_000 / 110_000,
        redemptions=[Redemptions("lounge", 12, 36_000, 9, 0.09),
                     Redemptions("offer", 30, 45_000, 21, 0.21)],
        lounges=[LoungeUse("PEK", "北京", 7, 2), LoungeUse("SZX", "深圳", 3, 0)],
        reach=[Reach("2026-05", 80, 76, 2, 105), Reach("2026-06", 90, 88, 1, 115)],
        most_valuable=[ValuableMember(1, "m-000042", "gold", Decimal("61000.50"), "maturity")],
        calls=[CallNeeded("m-000007", "gold", "entered_decline,sharp_drop", "2026-06",
                          "decline", Decimal("30500.25")),
               CallNeeded("m-000009", "standard", "<script>alert(1)</script>", "2026-06")],
    )


def test_the_page_has_every_section_and_the_headline_figures():
    page = render_html(two_months())

    assert "Loyalty programme report: Jun 2026" in page
    for key in CHARTS:
        assert f'id="chart-{key}"' in page, key
    assert "No figures for this period" not in page
    # Members 115 (+10 since May), retention 99/110, churn 11/110, breakage, liability.
    for shown in ("115", "+10 since May 2026", "90.0%", "10.0%", "2.7%", "¥4,280",
                  "428,000 points outstanding"):
        assert shown in page, shown
    assert "m-000042" in page and "¥61,000" in page and "Maturity" in page
    assert "m-000007" in page and "¥30,500" in page
    assert "entered decline; sharp drop in spend (a top-value member)" in page
    # The most valuable first.
    assert page.index("m-000007") < page.index("m-000009")


def test_plotly_js_is_embedded_once_and_nothing_is_fetched():
    page = render_html(two_months())

    assert page.count(get_plotlyjs()) == 1
    around = page.replace(get_plotlyjs(), "")
    assert "<script src" not in around and "http://" not in around
    assert "https://" not in around


def test_text_from_the_figures_is_escaped():
    page = render_html(two_months())

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page


def test_tiers_and_stages_keep_their_order_and_names():
    by_key = {c.key: c.figure for c in charts(two_months())}

    assert [t.name for t in by_key["retention"].data] == ["All members", "Gold"]
    assert [t.name for t in by_key["tier-mix"].data] == ["Standard", "Gold"]
    assert [t.name for t in by_key["stages"].data] == ["Trial", "Growth", "Decline"]
    assert list(by_key["stage-moves"].data[0].y) == ["Trial", "Growth", "Decline"]
    assert [list(row) for row in by_key["stage-moves"].data[0].z] == [
        [0, 4, 0], [0, 0, 2], [0, 0, 0]]


def test_a_month_without_figures_says_so_instead_of_drawing_empty_charts():
    empty = ProgrammeFigures(month="2026-06", months=["2026-06"], tiers=[])
    page = render_html(empty)

    assert page.count("No figures for this period") == len(CHARTS)
    assert 'id="chart-' not in page
    assert "Nobody to call this month" in page
    assert "—" in page  # the headline rates the month has not got


def csv_rows(figures: ProgrammeFigures) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(render_csv(figures))))


def test_the_csv_holds_every_figure_in_long_format():
    f = two_months()
    rows = csv_rows(f)

    assert list(rows[0]) == ["section", "month", "group", "measure", "value"]
    value = {(r["section"], r["month"], r["group"], r["measure"]): r["value"] for r in rows}
    for r in f.retention:
        assert value[("retention", r.month, r.tier, "at_start")] == str(r.at_start)
        assert float(value[("retention", r.month, r.tier, "churn_rate")]) == r.churn_rate
    for v in f.lifetime_value:
        assert Decimal(value[("lifetime_value", "2026-06", v.tier, "median")]) == v.median
    for p in f.points:
        assert int(value[("points", p.month, ALL, "expired")]) == p.expired
        assert Decimal(value[("points", p.month, ALL, "liability")]) == p.liability
    assert value[("stage_moves", "2026-06", "trial>growth", "members")] == "4"
    assert value[("tier_mix", "2026-05", "gold", "members")] == "20"
    assert float(value[("redemptions", "2026-06", "offer", "rate")]) == 0.21
    assert value[("lounges", "2026-06", "PEK", "visits")] == "7"
    assert float(value[("reach", "2026-06", ALL, "opt_out_rate")]) == 1 / 115
    assert float(value[("headline", "2026-06", ALL, "breakage_rate")]) == f.breakage_rate
    assert value[("headline", "2026-06", ALL, "members")] == "115"
    assert value[("most_valuable", "2026-06", "m-000042", "lifetime_value")] == "61000.50"
    assert value[("calls", "2026-06", "m-000007", "reason")] == "entered_decline,sharp_drop"
    assert value[("calls", "2026-06", "m-000007", "lifetime_value")] == "30500.25"
    # One row per figure: nothing counted twice.
    assert len(value) == len(rows) == (
        6 + 5 * len(f.retention) + 8 * len(f.lifetime_value) + len(f.stages)
        + len(f.stage_moves) + len(f.tier_mix) + len(f.tier_moves) + 5 * len(f.points)
        + 4 * len(f.redemptions) + 2 * len(f.lounges) + 6 * len(f.reach)
        + 4 * len(f.most_valuable) + 4 * len(f.calls))


def test_the_csv_of_an_empty_month_has_its_headline_only():
    rows = csv_rows(ProgrammeFigures(month="2026-06", months=["2026-06"], tiers=[]))

    assert [(r["measure"], r["value"]) for r in rows] == [("members", "0"),
                                                         ("breakage_rate", "0.0")]


def test_the_report_is_written_from_figures_saved_as_json(tmp_path, capsys):
    f = two_months()
    saved = tmp_path / "figures.json"
    saved.write_text(figures_to_json(f))
    assert figures_from_json(saved.read_text()) == f

    main([str(saved), "--out", str(tmp_path / "out")])

    html = tmp_path / "out" / "programme-report-2026-06.html"
    table = tmp_path / "out" / "programme-report-2026-06.csv"
    assert capsys.readouterr().out.split() == [str(html), str(table)]
    assert html.read_text(encoding="utf-8") == render_html(f)
    assert table.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    assert table.read_text(encoding="utf-8-sig") == render_csv(f)
    assert write_report(f, tmp_path / "out").csv == table


def test_the_page_lists_the_most_valuable_members_to_call_and_the_csv_all():
    f = two_months()
    many = [CallNeeded(f"m-{n:06d}", "gold", "entered_decline", "2026-06", "decline",
                       Decimal(1000 + n)) for n in range(100, 100 + CALLS_SHOWN + 5)]
    f = replace(f, calls=many)

    page = render_html(f)
    assert f"the {CALLS_SHOWN} most valuable of {len(many)}" in page
    assert f"m-{99 + CALLS_SHOWN + 5:06d}" in page and "m-000104" not in page
    assert sum(r["section"] == "calls" for r in csv_rows(f)) == 4 * len(many)


def test_the_figures_the_api_serves_as_json_render_the_same_report():
    f = two_months()

    served = json.dumps(figures_json(f))  # GET /analytics/figures

    assert figures_from_json(served) == f
