"""Facility pricing and entry decisions: examples and properties."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import facilities as f
from domain.facilities import (
    Facility,
    FacilityKind,
    Method,
    OpeningHours,
    PassKind,
    PassProduct,
    PerMinute,
    Pricing,
    Refusal,
)
from domain.money import to_minor

T0 = datetime(2026, 11, 25, 10, 0)  # a Wednesday
GYM = Facility(
    "gym",
    "Gym",
    FacilityKind.GYM,
    Pricing.PER_USE,
    OpeningHours.parse({"mon-fri": ["06:00-22:00"], "sat,sun": ["08:00-20:00"]}),
    price=Decimal("15.00"),
    low_assurance_daily_cap=2000,
)
WASHER = Facility(
    "washer-1",
    "Washer 1",
    FacilityKind.LAUNDRY,
    Pricing.PER_MINUTE,
    OpeningHours.always(),
    per_minute=PerMinute(Decimal("0.25"), max_minutes=90, minimum_minutes=10, grace_s=30),
)
MONTHLY = PassProduct("gym-month", PassKind.MONTHLY, Decimal("199"))
TEN = PassProduct("gym-10", PassKind.VISITS, Decimal("120"), visits=10, valid_days=90)

rates = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("50"), places=4)
durations = st.integers(min_value=0, max_value=10 * 3600)


def test_per_use_entry() -> None:
    d = f.decide_entry(GYM, local_now=T0, currency="CNY", available=5000)
    assert (d.allowed, d.method, d.amount) == (True, Method.CHARGE, 1500)
    poor = f.decide_entry(GYM, local_now=T0, currency="CNY", available=1499)
    assert (poor.allowed, poor.reason) == (False, Refusal.NO_MONEY)
    assert "top up" in poor.message


def test_opening_hours() -> None:
    assert GYM.hours.is_open(datetime(2026, 11, 25, 6, 0))
    assert not GYM.hours.is_open(datetime(2026, 11, 25, 22, 0))
    assert not GYM.hours.is_open(datetime(2026, 11, 28, 7, 59))  # Saturday
    closed = f.decide_entry(
        GYM, local_now=datetime(2026, 11, 25, 23, 0), currency="CNY", available=9
    )
    assert closed.reason is Refusal.CLOSED_NOW


def test_a_window_past_midnight_belongs_to_its_first_day() -> None:
    late = OpeningHours.parse({"fri": ["18:00-02:00"]})
    assert late.is_open(datetime(2026, 11, 27, 23, 0))  # Friday night
    assert late.is_open(datetime(2026, 11, 28, 1, 59))  # early Saturday
    assert not late.is_open(datetime(2026, 11, 28, 2, 0))
    assert not late.is_open(datetime(2026, 11, 26, 1, 0))  # early Thursday: Wednesday is shut


def test_opening_hours_round_trip() -> None:
    assert OpeningHours.parse(GYM.hours.to_spec()) == GYM.hours


def test_per_minute_laundry_run() -> None:
    pm = WASHER.per_minute
    assert pm is not None
    d = f.decide_entry(WASHER, local_now=T0, currency="CNY", available=10_000)
    assert (d.method, d.amount) == (Method.HOLD, 2250)  # 90 min x 0.25
    # 42 min 10 s, 30 s grace: 41 min 40 s -> 42 started minutes -> 10.50
    assert f.per_minute_charge(pm, "CNY", T0, T0 + timedelta(minutes=42, seconds=10)) == (42, 1050)
    # Stopped at once: the minimum of 10 minutes.
    assert f.per_minute_charge(pm, "CNY", T0, T0 + timedelta(seconds=5)) == (10, 250)


def test_refusals_in_order() -> None:
    def why(**kw: object) -> Refusal | None:
        return f.decide_entry(GYM, local_now=T0, currency="CNY", available=5000, **kw).reason  # type: ignore[arg-type]

    assert why(revoked=True) is Refusal.CARD_REVOKED
    assert why(low_assurance=True, spent_today_low_assurance=600) is Refusal.LOW_ASSURANCE_OVER_CAP
    assert why(low_assurance=True, spent_today_low_assurance=500) is None
    strict = Facility(**{**GYM.__dict__, "allow_low_assurance": False})
    assert f.decide_entry(
        strict, local_now=T0, currency="CNY", available=9999, low_assurance=True
    ).reason is (Refusal.LOW_ASSURANCE_NOT_ALLOWED)


def test_passes_and_anti_passback() -> None:
    month = f.issue_pass(MONTHLY, date(2026, 11, 25))
    assert month.valid_until == date(2026, 12, 24)
    d = f.decide_entry(GYM, local_now=T0, currency="CNY", available=0, pass_state=month)
    assert (d.allowed, d.method, d.amount) == (True, Method.PASS, 0)
    again = f.decide_entry(
        GYM, local_now=T0, currency="CNY", available=0, pass_state=month, inside=True
    )
    assert again.reason is Refusal.ANTI_PASSBACK
    expired = f.decide_entry(
        GYM, local_now=datetime(2026, 12, 25, 10), currency="CNY", available=0, pass_state=month
    )
    assert expired.reason is Refusal.NO_MONEY  # the pass ran out; pay per use needs money
    members = Facility(**{**GYM.__dict__, "pricing": Pricing.PASS_ONLY})
    expired = f.decide_entry(
        members, local_now=datetime(2026, 12, 25, 10), currency="CNY", available=0, pass_state=month
    )
    assert expired.reason is Refusal.PASS_EXPIRED
    assert f.decide_entry(members, local_now=T0, currency="CNY", available=9999).reason is (
        Refusal.PASS_REQUIRED
    )


def test_month_end_clamps() -> None:
    assert f.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert f.add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert f.issue_pass(MONTHLY, date(2026, 1, 31)).valid_until == date(2026, 2, 28)
    assert f.issue_pass(MONTHLY, date(2026, 2, 28)).valid_until == date(2026, 3, 27)


def test_visits_pass_runs_out() -> None:
    state = f.issue_pass(TEN, date(2026, 11, 25))
    for _ in range(10):
        assert f.pass_refusal(state, date(2026, 11, 25)) is None
        state = f.use_visit(state)
    assert f.pass_refusal(state, date(2026, 11, 25)) is Refusal.NO_VISITS_LEFT
    with pytest.raises(ValueError, match="no visits"):
        f.use_visit(state)


# -- properties -----------------------------------------------------------------------


@given(rates, st.integers(1, 600), st.integers(0, 30), st.integers(0, 120), durations)
def test_capture_never_exceeds_the_hold_and_is_rate_times_minutes(
    rate: Decimal, max_minutes: int, minimum: int, grace: int, seconds: int
) -> None:
    pm = PerMinute(rate, max_minutes=max_minutes, minimum_minutes=minimum, grace_s=grace)
    minutes, amount = f.per_minute_charge(pm, "CNY", T0, T0 + timedelta(seconds=seconds))
    assert amount <= f.hold_amount(pm, "CNY")
    assert minutes <= max_minutes
    assert minutes >= min(minimum, max_minutes)
    assert amount == to_minor(rate * minutes, "CNY")  # rounded once, from the exact product


@given(rates, st.integers(1, 600), durations, durations)
def test_a_longer_run_never_costs_less(rate: Decimal, max_minutes: int, a: int, b: int) -> None:
    pm = PerMinute(rate, max_minutes=max_minutes)
    short, long_ = sorted((a, b))
    cost = [
        f.per_minute_charge(pm, "CNY", T0, T0 + timedelta(seconds=s))[1] for s in (short, long_)
    ]
    assert cost[0] <= cost[1]


@given(rates, durations)
def test_every_started_minute_is_billed(rate: Decimal, seconds: int) -> None:
    pm = PerMinute(rate, max_minutes=100_000, minimum_minutes=0)
    minutes = f.minutes_used(pm, T0, T0 + timedelta(seconds=seconds))
    assert (minutes - 1) * 60 < seconds <= minutes * 60 or seconds == minutes == 0


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999"), places=2))
def test_per_use_is_exact_for_cent_prices(price: Decimal) -> None:
    assert f.per_use_charge(price, "CNY") == int(price * 100)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(1, 24))
def test_monthly_pass_lengths(start: date, months: int) -> None:
    state = f.issue_pass(PassProduct("m", PassKind.MONTHLY, Decimal(1), months=months), start)
    days = (state.valid_until - state.valid_from).days + 1
    assert 28 * months - 3 <= days <= 31 * months + 1
    assert f.pass_refusal(state, state.valid_until) is None
    assert f.pass_refusal(state, state.valid_until + timedelta(days=1)) is Refusal.PASS_EXPIRED


@given(st.integers(1, 50), st.integers(0, 60))
def test_visits_are_counted_exactly(visits: int, tries: int) -> None:
    state = f.issue_pass(
        PassProduct("v", PassKind.VISITS, Decimal(1), visits=visits), date(2026, 1, 1)
    )
    admitted = 0
    for _ in range(tries):
        if f.pass_refusal(state, date(2026, 1, 1)) is None:
            state = f.use_visit(state)
            admitted += 1
    assert admitted == min(visits, tries)


@given(
    st.integers(0, 10_000),
    st.integers(0, 5_000),
    st.booleans(),
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1)),
)
def test_an_allowed_charge_is_always_affordable_and_within_the_cap(
    available: int, spent: int, low: bool, now: datetime
) -> None:
    d = f.decide_entry(
        GYM,
        local_now=now,
        currency="CNY",
        available=available,
        low_assurance=low,
        spent_today_low_assurance=spent,
    )
    if d.allowed:
        assert d.amount <= available
        assert GYM.hours.is_open(now)
        if low:
            assert spent + d.amount <= GYM.low_assurance_daily_cap
    else:
        assert d.reason is not None
        assert d.message


@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1)))
def test_opening_hours_agree_with_a_minute_by_minute_reading(now: datetime) -> None:
    hours = OpeningHours.parse({"mon-fri": ["06:00-22:00"], "sat": ["20:00-01:30"]})
    t, wd = now.time(), now.weekday()
    expected = (
        (wd < 5 and time(6) <= t < time(22))
        or (wd == 5 and t >= time(20))
        or (wd == 6 and t < time(1, 30))
    )
    assert hours.is_open(now) == expected
