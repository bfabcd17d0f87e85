"""The report's charts, one plotly figure each, built from ProgrammeFigures.

`charts(figures)` lists them in page order. A chart whose section has no figures has no
figure (`Chart.figure is None`): the page says so instead of drawing empty axes, so every
chart drawn has data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from services.analytics.domain.figures import ALL, Count, Move, ProgrammeFigures

from .labels import (
    STAGE_COLOURS,
    TIER_COLOURS,
    month_label,
    stage_label,
    stage_order,
    tier_label,
    tier_order,
)

#: Airports drawn in the lounge chart (the busiest); the CSV has them all.
LOUNGE_AIRPORTS = 12


@dataclass(frozen=True, slots=True)
class Chart:
    key: str
    title: str
    caption: str
    figure: go.Figure | None


def charts(f: ProgrammeFigures) -> list[Chart]:
    return [
        Chart("retention", "Retention rate per month",
              "Share of the members active at the start of a month still active at its end.",
              _rate_lines(f, "retention_rate")),
        Chart("churn", "Churn rate per month",
              "Share of the members active at the start of a month who closed or went quiet.",
              _rate_lines(f, "churn_rate")),
        Chart("lifetime-value", f"Lifetime value per tier, {month_label(f.month)}",
              "Box: 25th to 75th percentile, line at the median, whiskers at the 10th and"
              " 90th percentiles, dashed line at the mean (CNY).", _value_boxes(f)),
        Chart("stages", "Lifecycle stages per month", "Members in each stage at month end.",
              _stacked(f.months, f.stages, stage_order, stage_label, STAGE_COLOURS.get)),
        Chart("stage-moves", f"Stage moves, {month_label(f.month)}",
              "Members who moved from the row's stage to the column's in the month.",
              _matrix(f.stage_moves, f.month, stage_order, stage_label)),
        Chart("tier-mix", "Tier mix per month", "Members in each tier at month end.",
              _stacked(f.months, f.tier_mix, tier_order, tier_label, TIER_COLOURS.get)),
        Chart("tier-moves", f"Tier migration, {month_label(f.month)}",
              "Members who moved from the row's tier to the column's in the month.",
              _matrix(f.tier_moves, f.month, tier_order, tier_label)),
        Chart("points", "Points issued, redeemed and expired",
              "Bars: points in the month (left axis); line: points outstanding at month end"
              " (right axis).", _points(f)),
        Chart("redemptions", "Redemption rate by benefit kind",
              "Share of active members who redeemed a benefit of the kind over the period.",
              _redemptions(f)),
        Chart("lounges", "Lounge use by airport",
              f"Visits and guests over the period (the {LOUNGE_AIRPORTS} busiest airports).",
              _lounges(f)),
        Chart("reach", "Notification reach and opt-out rate",
              "Reach: members reached over members messaged (left axis); opt-out: members"
              " who opted out of marketing over members (right axis).", _reach(f)),
    ]


def _layout(figure: go.Figure, **more) -> go.Figure:
    layout = {"template": "plotly_white", "height": 360,
              "margin": {"l": 60, "r": 60, "t": 20, "b": 40},
              "legend": {"orientation": "h", "y": -0.15}}
    figure.update_layout(layout | more)
    return figure


def _rate_lines(f: ProgrammeFigures, rate: str) -> go.Figure | None:
    if not f.retention:
        return None
    figure = go.Figure()
    for group in tier_order(r.tier for r in f.retention):
        by_month = {r.month: getattr(r, rate) for r in f.retention if r.tier == group}
        months = [m for m in f.months if m in by_month]
        figure.add_trace(go.Scatter(
            x=months, y=[by_month[m] for m in months], name=tier_label(group),
            mode="lines+markers", line={"color": TIER_COLOURS.get(group),
                                        "width": 3 if group == ALL else 1.5}))
    return _layout(figure, yaxis={"tickformat": ".0%"})


def _value_boxes(f: ProgrammeFigures) -> go.Figure | None:
    if not f.lifetime_value:
        return None
    by_tier = {v.tier: v for v in f.lifetime_value}
    figure = go.Figure()
    for tier in tier_order(by_tier):
        v = by_tier[tier]
        label = tier_label(tier)
        figure.add_trace(go.Box(
            x=[label], name=label, lowerfence=[v.p10], q1=[v.p25], median=[v.median],
            q3=[v.p75], upperfence=[v.p90], mean=[v.mean], boxmean=True,
            marker={"color": TIER_COLOURS.get(tier)}))
    return _layout(figure, yaxis={"title": "CNY", "tickformat": ",.0f"}, showlegend=False)


def _stacked(months: list[str], counts: list[Count], order: Callable[[Iterable[str]], list[str]],
             label: Callable[[str], str], colour: Callable[[str], str | None]
             ) -> go.Figure | None:
    if not counts:
        return None
    figure = go.Figure()
    for group in order(c.group for c in counts):
        by_month = {c.month: c.members for c in counts if c.group == group}
        figure.add_trace(go.Bar(x=months, y=[by_month.get(m, 0) for m in months],
                                name=label(group), marker={"color": colour(group)}))
    return _layout(figure, barmode="stack", yaxis={"title": "members"})


def _matrix(moves: list[Move], month: str, order: Callable[[Iterable[str]], list[str]],
            label: Callable[[str], str]) -> go.Figure | None:
    moves = [m for m in moves if m.month == month]
    if not moves:
        return None
    groups = order([g for m in moves for g in (m.source, m.target)])
    cells = {(m.source, m.target): m.members for m in moves}
    z = [[cells.get((s, t), 0) for t in groups] for s in groups]
    names = [label(g) for g in groups]
    figure = go.Figure(go.Heatmap(
        z=z, x=names, y=names, colorscale="Blues", texttemplate="%{z:,}",
        hovertemplate="%{y} → %{x}: %{z:,} members<extra></extra>"))
    return _layout(figure, xaxis={"title": "to"}, yaxis={"title": "from", "autorange": "reversed"},
                   margin={"l": 110, "r": 20, "t": 20, "b": 50})


def _points(f: ProgrammeFigures) -> go.Figure | None:
    if not f.points:
        return None
    months = [p.month for p in f.points]
    figure = _two_axes(("points in the month", "~s"), ("outstanding", ".3~s"))
    for name, colour in (("issued", "#52b788"), ("redeemed", "#5b8bd0"),
                         ("expired", "#e76f51")):
        figure.add_trace(go.Bar(x=months, y=[getattr(p, name) for p in f.points],
                                name=name.capitalize(), marker={"color": colour}))
    figure.add_trace(go.Scatter(x=months, y=[p.outstanding for p in f.points],
                                name="Outstanding", mode="lines+markers",
                                line={"color": "#222222", "width": 3}), secondary_y=True)
    return _layout(figure, barmode="group")


def _redemptions(f: ProgrammeFigures) -> go.Figure | None:
    if not any(r.redemptions for r in f.redemptions):
        return None
    kinds = sorted(f.redemptions, key=lambda r: r.rate, reverse=True)
    figure = go.Figure(go.Bar(
        x=[r.kind.capitalize() for r in kinds], y=[r.rate for r in kinds],
        text=[f"{r.redemptions:,} redemptions" for r in kinds], textposition="auto",
        marker={"color": "#5b8bd0"}))
    return _layout(figure, yaxis={"tickformat": ".0%", "title": "members who redeemed"})


def _lounges(f: ProgrammeFigures) -> go.Figure | None:
    if not f.lounges:
        return None
    busiest = sorted(f.lounges, key=lambda u: u.visits, reverse=True)[:LOUNGE_AIRPORTS]
    busiest.reverse()  # plotly draws horizontal bars bottom up
    names = [f"{u.airport} {u.city}" for u in busiest]
    figure = go.Figure([
        go.Bar(y=names, x=[u.visits for u in busiest], name="Visits", orientation="h",
               marker={"color": "#2c3e66"}),
        go.Bar(y=names, x=[u.guests for u in busiest], name="Guests", orientation="h",
               marker={"color": "#d4a017"}),
    ])
    return _layout(figure, barmode="stack", xaxis={"tickformat": ","},
                   margin={"l": 90, "r": 20, "t": 20, "b": 40})


def _reach(f: ProgrammeFigures) -> go.Figure | None:
    if not f.reach:
        return None
    months = [r.month for r in f.reach]
    figure = _two_axes(("reach", ".0%"), ("opt-out", ".1%"))
    figure.add_trace(go.Scatter(x=months, y=[r.reach_rate for r in f.reach], name="Reach",
                                mode="lines+markers", line={"color": "#52b788", "width": 3}))
    figure.add_trace(go.Scatter(x=months, y=[r.opt_out_rate for r in f.reach],
                                name="Opt-out", mode="lines+markers",
                                line={"color": "#e76f51", "dash": "dot"}), secondary_y=True)
    return _layout(figure)


def _two_axes(left: tuple[str, str], right: tuple[str, str]) -> go.Figure:
    """A figure with a y axis on each side, each (title, tick format)."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.update_yaxes(title_text=left[0], tickformat=left[1], secondary_y=False)
    figure.update_yaxes(title_text=right[0], tickformat=right[1], secondary_y=True,
                        showgrid=False)
    return figure
