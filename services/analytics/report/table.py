"""The report's figures as one CSV in long format: `section, month, group, measure, value`.

One row per figure. `month` is the figure's month; figures over the whole period
(lifetime value, redemptions, lounges, the member lists, the headline) carry the report's
month. `group` is a tier code ("all" for the programme), a stage, "from>to" for moves, a
benefit kind, an airport code, or a member id. `value` is a number (counts as integers,
CNY amounts as decimals, rates as fractions 0..1), except in the member lists, where a
member's tier, stage and the reasons to call (codes joined by ",") are text.
docs/analytics.md lists the sections.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal

from services.analytics.domain.figures import ALL, ProgrammeFigures

from .headline import headline

COLUMNS = ("section", "month", "group", "measure", "value")
Row = tuple[str, str, str, str, object]


def render_csv(figures: ProgrammeFigures) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows((*row[:4], _text(row[4])) for row in rows(figures))
    return out.getvalue()


def rows(f: ProgrammeFigures) -> Iterator[Row]:
    h = headline(f)
    yield from _measures("headline", f.month, ALL, h, (
        "members", "retention_rate", "churn_rate", "breakage_rate", "outstanding",
        "liability"))
    for r in f.retention:
        yield from _measures("retention", r.month, r.tier, r, (
            "at_start", "retained", "churned", "retention_rate", "churn_rate"))
    for v in f.lifetime_value:
        yield from _measures("lifetime_value", f.month, v.tier, v, (
            "members", "total", "mean", "p10", "p25", "median", "p75", "p90"))
    for section, counts in (("stages", f.stages), ("tier_mix", f.tier_mix)):
        for c in counts:
            yield section, c.month, c.group, "members", c.members
    for section, moves in (("stage_moves", f.stage_moves), ("tier_moves", f.tier_moves)):
        for m in moves:
            yield section, m.month, f"{m.source}>{m.target}", "members", m.members
    for p in f.points:
        yield from _measures("points", p.month, ALL, p, (
            "issued", "redeemed", "expired", "outstanding", "liability"))
    for d in f.redemptions:
        yield from _measures("redemptions", f.month, d.kind, d, (
            "redemptions", "points", "members", "rate"))
    for u in f.lounges:
        yield from _measures("lounges", f.month, u.airport, u, ("visits", "guests"))
    for n in f.reach:
        yield from _measures("reach", n.month, ALL, n, (
            "messaged", "reached", "opted_out", "members", "reach_rate", "opt_out_rate"))
    for m in f.most_valuable:
        yield from _measures("most_valuable", f.month, m.member_id, m, (
            "rank", "tier", "stage", "lifetime_value"))
    for c in f.calls:
        yield from _measures("calls", c.month, c.member_id, c, (
            "tier", "stage", "lifetime_value", "reason"))


def _measures(section: str, month: str, group: str, source: object,
              names: tuple[str, ...]) -> Iterator[Row]:
    for name in names:
        value = getattr(source, name)
        if value is not None:  # a headline the month has not got (no cohort yet)
            yield section, month, group, name, value


def _text(value: object) -> str:
    """Floats round-trip exactly (repr); Decimals keep their digits."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)
