"""Lifecycle stage of a member at month M, from the trajectory of their monthly margin
(domain/value.py: spend and assets on one scale).

- trial: the first `trial_months` months (the enrolment month is the first);
- otherwise compare `recent`, the average margin of the `window_months` months ending with
  M, with `before`, the average of the window before it (both from the enrolment month on):
  - growth:   recent >= (1 + growth_threshold) x before  (or before = 0 < recent);
  - decline:  recent <= (1 - decline_threshold) x before (or both 0: nothing to keep);
  - maturity: in between.
"""

from __future__ import annotations

from . import months as m
from .history import Member
from .model import Model
from .value import mean_margin, window

TRIAL, GROWTH, MATURITY, DECLINE = "trial", "growth", "maturity", "decline"
STAGES = (TRIAL, GROWTH, MATURITY, DECLINE)


def stage(member: Member, month: str, model: Model) -> str:
    if member.tenure(month) <= model.trial_months:
        return TRIAL
    width = model.window_months
    recent = mean_margin(member, window(member, month, width), model)
    before = mean_margin(member, window(member, m.add(month, -width), width), model)
    if before == 0:
        return GROWTH if recent > 0 else DECLINE
    if recent >= (1 + model.growth_threshold) * before:
        return GROWTH
    if recent <= (1 - model.decline_threshold) * before:
        return DECLINE
    return MATURITY
