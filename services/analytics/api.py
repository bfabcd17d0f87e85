"""HTTP for staff (OpenAPI at /docs): the programme's measures as JSON, and the monthly
report as HTML (with charts) or CSV (report/, rendered from the same figures).

Every route needs a staff OIDC token with the staff role (runtime/auth.py), checked before
anything else. `month` is YYYY-MM (Asia/Shanghai), by default the month before this one;
`months` the series' length (REPORT_MONTHS by default).
"""

from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import TypeAdapter

from runtime.auth import Staff, StaffAuth, authenticated_first

from .domain import months as m
from .domain.figures import ProgrammeFigures
from .domain.model import Model
from .handlers.figures import load_figures
from .report import render_csv, render_html

MonthParam = Annotated[str | None, Query(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$",
                                         examples=["2026-11"])]
Months = Annotated[int | None, Query(ge=1, le=60)]
#: The measures served one by one: ProgrammeFigures' lists (and the breakage rate).
MEASURES = tuple(f.name for f in fields(ProgrammeFigures) if f.name not in ("month", "months",
                                                                         "tiers"))
Measure = Literal[MEASURES]  # type: ignore[valid-type]
_JSON = TypeAdapter(ProgrammeFigures)


def figures_json(figures: ProgrammeFigures) -> dict[str, Any]:
    """The figures as JSON values: amounts as decimal strings, rates as numbers, and each
    retention and reach row with its rates."""
    data = _JSON.dump_python(figures, mode="json")
    for row, value in zip(data["retention"], figures.retention, strict=True):
        row.update(retention_rate=value.retention_rate, churn_rate=value.churn_rate)
    for row, value in zip(data["reach"], figures.reach, strict=True):
        row.update(reach_rate=value.reach_rate, opt_out_rate=value.opt_out_rate)
    return data


def routes(staff: StaffAuth, pool: Callable[[], asyncpg.Pool], model: Model,
           cities: dict[str, str], report_months: int) -> APIRouter:
    router = APIRouter(prefix="/staff", tags=["staff"], route_class=authenticated_first(staff))
    StaffMember = Annotated[Staff, Depends(staff)]

    async def load(month: str | None, months: int | None) -> ProgrammeFigures:
        month = month or m.add(m.month_of(datetime.now(m.ZONE)), -1)
        async with pool().acquire() as conn:
            return await load_figures(conn, month, months or report_months, model=model,
                                      cities=cities)

    @router.get("/analytics/figures")
    async def all_figures(_who: StaffMember, month: MonthParam = None,
                          months: Months = None) -> dict[str, Any]:
        """Every measure of the month (docs/analytics.md): what the report shows."""
        return figures_json(await load(month, months))

    @router.get("/analytics/{measure}")
    async def one_measure(measure: Measure, _who: StaffMember, month: MonthParam = None,
                          months: Months = None) -> dict[str, Any]:
        """One measure: retention, lifetime_value, stages, stage_moves, tier_mix,
        tier_moves, points, breakage_rate, redemptions, lounges, reach, most_valuable,
        calls; with the month and the months it covers."""
        data = figures_json(await load(month, months))
        return {"month": data["month"], "months": data["months"], measure: data[measure]}

    @router.get("/report", response_class=HTMLResponse,
                responses={200: {"content": {"text/html": {}, "text/csv": {}}}})
    async def report(_who: StaffMember, month: MonthParam = None,
                     months: Months = None,
                     format: Literal["html", "csv"] = "html"):
        """The monthly programme report: an HTML page with charts, or `format=csv`."""
        figures = await load(month, months)
        if format == "csv":
            return PlainTextResponse(render_csv(figures), media_type="text/csv",
                                     headers={"Content-Disposition": "attachment;"
                                              f' filename="programme-report-{figures.month}.csv"'})
        return HTMLResponse(render_html(figures))

    return router
