"""The programme's figures for a month: the read models loaded (sql/history.py) with the
months the measures look back on, then every measure (domain/programme.py)."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from ..domain import months as m
from ..domain.figures import ProgrammeFigures
from ..domain.model import Model
from ..domain.programme import figures
from ..sql import history


def lookback(model: Model) -> int:
    """Months before a report's first month that its measures read: the two windows of a
    stage, a month before them, and the inactivity that makes a churn."""
    return 2 * model.window_months + model.churn_inactive_months + 1


async def load_figures(conn: asyncpg.Connection, month: str, months: int = 12, *,
                       model: Model | None = None,
                       cities: Mapping[str, str] | None = None) -> ProgrammeFigures:
    model = model or Model()
    first = m.add(month, -(months - 1) - lookback(model))
    loaded = await history.load(conn, first, month, cities or {})
    return figures(loaded, month, months, model)
