"""Two simulated years of programme figures (ProgrammeFigures for 2026-12 over 2026), both
deterministic: `simulated_year`, figures made up directly (thousands of members in four
tiers who join, churn, move up and down, earn, redeem and let points expire), and
`measured_year`, the analytics service's measures over a simulated population's history."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from contracts.tiers import TIERS
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
from services.analytics.domain.history import Activity, History, Member, PointsTotals, Redemption
from services.analytics.domain.model import Model
from services.analytics.domain.programme import figures as programme_figures

MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]
STAGES = ("trial", "growth", "maturity", "decline")
_START = {"standard": 8000, "gold": 2500, "oto_fortune": 600, "private_banking": 150}
_CHURN = {"standard": 0.03, "gold": 0.015, "oto_fortune": 0.01, "private_banking": 0.005}
_VALUE = {ALL: 8_000, "standard": 2_000, "gold": 12_000, "oto_fortune": 60_000,
          "private_banking": 250_000}
_AIRPORTS = [("PEK", "北京"), ("PVG", "上海"), ("CAN", "广州"), ("SZX", "深圳"),
             ("CTU", "成都"), ("HGH", "杭州"), ("ZUH", "珠海"), ("XMN", "厦门")]


def simulated_year(seed: int = 2026) -> ProgrammeFigures:
    rnd = random.Random(seed)
    members = dict(_START)
    stages = {"trial": 1500, "growth": 3500, "maturity": 5500, "decline": 750}
    retention, tier_mix, tier_moves, stage_counts, stage_moves = [], [], [], [], []
    points, reach = [], []
    outstanding = 40_000_000
    for month in MONTHS:
        cohort = dict(members)
        churned = {t: round(cohort[t] * _CHURN[t] * rnd.uniform(0.6, 1.4)) for t in TIERS}
        for t in TIERS:
            retention.append(Retention(month, t, cohort[t], cohort[t] - churned[t], churned[t]))
        retention.append(Retention(month, ALL, sum(cohort.values()),
                                   sum(cohort.values()) - sum(churned.values()),
                                   sum(churned.values())))
        tier_moves += _tier_moves(rnd, month, cohort, churned, members)
        members["standard"] += rnd.randint(450, 700)  # new members join in standard
        tier_mix += [Count(month, t, members[t]) for t in TIERS]
        stage_moves += _stage_moves(rnd, month, stages)
        stage_counts += [Count(month, s, n) for s, n in stages.items()]
        issued = rnd.randint(4_500_000, 6_500_000)
        redeemed = round(issued * rnd.uniform(0.45, 0.65))
        expired = round(issued * rnd.uniform(0.04, 0.09))
        outstanding += issued - redeemed - expired
        points.append(PointsMonth(month, issued, redeemed, expired, outstanding,
                                  Decimal(outstanding) / 100))
        total = sum(members.values())
        messaged = round(total * rnd.uniform(0.55, 0.8))
        reach.append(Reach(month, messaged, round(messaged * rnd.uniform(0.9, 0.98)),
                           rnd.randint(5, 40), total))
    issued = sum(p.issued for p in points)
    return ProgrammeFigures(
        month=MONTHS[-1], months=MONTHS, tiers=list(TIERS), retention=retention,
        lifetime_value=[_values(t, members[t]) for t in TIERS]
        + [_values(ALL, sum(members.values()))], stages=stage_counts,
        stage_moves=stage_moves, tier_mix=tier_mix, tier_moves=tier_moves, points=points,
        breakage_rate=sum(p.expired for p in points) / issued,
        redemptions=[Redemptions("lounge", 3_120, 9_360_000, 1_450, 0.118),
                     Redemptions("offer", 5_870, 17_610_000, 2_930, 0.238),
                     Redemptions("donation", 410, 820_000, 260, 0.021)],
        lounges=[LoungeUse(code, city, rnd.randint(80, 900), rnd.randint(10, 200))
                 for code, city in _AIRPORTS],
        reach=reach, most_valuable=_most_valuable(rnd),
        calls=[CallNeeded("m-000417", "private_banking", "entered_decline,sharp_drop",
                          MONTHS[-1], "decline", Decimal("912000")),
               CallNeeded("m-002981", "oto_fortune", "sharp_drop", MONTHS[-1], "maturity",
                          Decimal("486000")),
               CallNeeded("m-005120", "gold", "entered_decline", MONTHS[-1], "decline",
                          Decimal("21400"))])


def _tier_moves(rnd, month, cohort, churned, members) -> list[Move]:
    """Moves among the retained: some up a tier, a few down (only changes are moves)."""
    moves = []
    for i, t in enumerate(TIERS):
        stay = cohort[t] - churned[t]
        for j in (i - 1, i + 1):
            if 0 <= j < len(TIERS):
                n = round(stay * (0.02 if j > i else 0.008) * rnd.uniform(0.5, 1.5))
                moves.append(Move(month, t, TIERS[j], n))
                stay -= n
                members[TIERS[j]] += n
        members[t] -= cohort[t] - stay
    return moves


def _stage_moves(rnd, month, stages) -> list[Move]:
    """Some members move on a stage, some in decline recover; the others stay."""
    flows = [(s, STAGES[i + 1], round(stages[s] * rnd.uniform(0.03, 0.08)))
             for i, s in enumerate(STAGES[:-1])]
    flows.append(("decline", "growth", round(stages["decline"] * rnd.uniform(0.05, 0.15))))
    left = {s: stages[s] - sum(n for source, _, n in flows if source == s) for s in STAGES}
    moves = [Move(month, s, t, n) for s, t, n in flows]
    for s in STAGES:
        stages[s] = left[s] + sum(n for _, target, n in flows if target == s)
    stages["trial"] += rnd.randint(250, 450)  # new members start on trial
    return moves


def _values(tier: str, members: int) -> ValueDistribution:
    v = _VALUE[tier]
    q = [Decimal(round(v * k)) for k in (0.2, 0.45, 0.9, 1.6, 2.8)]
    mean = Decimal(round(v * 1.15))
    return ValueDistribution(tier, members, mean * members, mean, *q)


def _most_valuable(rnd) -> list[ValuableMember]:
    values = sorted((Decimal(rnd.randint(400_000, 2_400_000)) for _ in range(10)), reverse=True)
    return [ValuableMember(i + 1, f"m-{rnd.randint(1, 11_000):06d}",
                           "private_banking" if i < 7 else "oto_fortune", v,
                           "maturity" if i % 4 else "growth")
            for i, v in enumerate(values)]


def measured_year(seed: int = 7, people: int = 600) -> ProgrammeFigures:
    """The same report's figures as the analytics service measures them (domain/programme.py)
    from a simulated population's history: members who enrol from 2025 on, and stay
    steady, grow (and move up a tier), decline, go quiet (churn) or close; who spend, hold
    assets, earn and redeem points, visit lounges and are sent notifications."""
    rnd = random.Random(seed)
    months = [f"{year}-{month:02d}" for year in (2025, 2026) for month in range(1, 13)]
    members, redemptions = {}, []
    for i in range(people):
        member_id = f"m-{i:06d}"
        start = rnd.randrange(0, len(months) - 2)
        tier = rnd.choices(TIERS, weights=(60, 25, 10, 5))[0]
        kind = rnd.choice(("steady", "steady", "grow", "decline", "quiet", "close"))
        stop = start + rnd.randint(4, 14)  # when the quiet ones stop and the closers close
        acts = {}
        for k, month in enumerate(months[start:]):
            if kind == "quiet" and start + k >= stop:
                break
            trend = {"grow": 1 + 0.1 * k, "decline": max(0.05, 1 - 0.08 * k)}.get(kind, 1.0)
            spend = Decimal(round(_VALUE[tier] / 2 * trend * rnd.uniform(0.7, 1.3)))
            lounge = tier != "standard" and rnd.random() < 0.12
            offer = rnd.random() < 0.08
            for benefit, taken in (("lounge", lounge), ("offer", offer)):
                if taken:
                    code = rnd.choice(_AIRPORTS)[0] if benefit == "lounge" else None
                    redemptions.append(Redemption(member_id, month, benefit, code,
                                                  rnd.choice((1, 1, 2, 3)), 2_000))
            sent = rnd.randint(0, 3)
            acts[month] = Activity(
                purchases=1, spend=spend,
                assets=None if tier == "standard" else spend * 40,
                redemptions=lounge + offer, points_issued=int(spend),
                points_redeemed=2_000 * (lounge + offer),
                points_expired=int(spend) // 12 if k % 12 == 11 else 0,
                messages_sent=sent, messages_delivered=sent and rnd.randint(0, sent),
                opt_outs=int(rnd.random() < 0.004))
        upgrade = TIERS[min(TIERS.index(tier) + 1, len(TIERS) - 1)]
        changes = (((_first_day(months[start + 6]), upgrade),)
                   if kind == "grow" and start + 6 < len(months) else ())
        closed = months[stop] if kind == "close" and stop < len(months) else None
        members[member_id] = Member(member_id, months[start], tier, closed, changes, acts)
    totals = {month: PointsTotals(
        issued=sum(x.activity(month).points_issued for x in members.values()),
        redeemed=sum(x.activity(month).points_redeemed for x in members.values()),
        expired=sum(x.activity(month).points_expired for x in members.values()))
        for month in months}
    history = History(members, redemptions, totals, dict(_AIRPORTS))
    return programme_figures(history, months[-1], 12, Model())


def _first_day(month: str) -> date:
    year, number = month.split("-")
    return date(int(year), int(number), 1)
