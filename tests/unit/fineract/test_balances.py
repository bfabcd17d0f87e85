"""The average daily balance over a month, from day-end balances (domain/balances.py)."""

from datetime import date
from decimal import Decimal

from adapters.fineract.domain.balances import (
    average_daily_balance,
    month_bounds,
    months_from,
    next_month,
)

D = Decimal


def test_a_balance_held_all_month_is_its_average():
    assert average_daily_balance("2026-01", {1: D("1000")}, {}) == D("1000.00")


def test_days_without_movement_carry_the_previous_balance():
    # 0 on the 1st-9th, 3100 from the 10th to the 25th (16 days), 0 from the 26th.
    day_ends = {1: {date(2026, 1, 10): D("3100"), date(2026, 1, 26): D("0")}}
    assert average_daily_balance("2026-01", {}, day_ends) == D("1600.00")  # 3100*16/31


def test_opening_balance_carries_until_the_first_movement():
    day_ends = {1: {date(2026, 2, 15): D("0")}}
    assert average_daily_balance("2026-02", {1: D("2800")}, day_ends) == D("1400.00")


def test_accounts_are_summed_per_day():
    opening = {1: D("100"), 2: D("50.5")}
    day_ends = {2: {date(2026, 4, 16): D("80.5")}, 3: {date(2026, 4, 30): D("300")}}
    # 100*30 + 50.5*15 + 80.5*15 + 300*1 = 3000 + 757.5 + 1207.5 + 300 = 5265 over 30 days
    assert average_daily_balance("2026-04", opening, day_ends) == D("175.50")


def test_the_last_day_end_of_a_day_counts_and_cents_round_half_up():
    day_ends = {1: {date(2026, 3, 31): D("0.155")}}
    assert average_daily_balance("2026-03", {}, day_ends) == D("0.01")  # 0.005 half up
    assert average_daily_balance("2026-03", {1: D("0.31")}, {}) == D("0.31")


def test_an_overdraft_is_no_asset():
    day_ends = {1: {date(2026, 1, 16): D("-500")}}
    assert average_daily_balance("2026-01", {1: D("310")}, day_ends) == D("150.00")


def test_a_leap_february_has_29_days():
    assert month_bounds("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))
    assert average_daily_balance("2028-02", {}, {1: {date(2028, 2, 29): D("29")}}) == D("1.00")


def test_months_in_order_across_a_year_end():
    assert next_month("2025-12") == "2026-01"
    assert months_from("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01"]
    assert months_from("2026-02", "2026-02") == []
