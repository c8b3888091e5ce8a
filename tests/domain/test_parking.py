"""Parking tariffs: convenience time, blocks, night rates, daily caps across a
daylight-saving change, the grace period after paying."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.parking import (
    ParkingTariff,
    PassPeriod,
    Rule,
    RuleAction,
    Situation,
    TariffError,
    due_after_pass,
    due_at_exit,
    next_term,
    pass_term,
    price,
    renewal_due,
    tariff_from_spec,
    tariff_to_spec,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")  # changes clocks, unlike Shanghai

VISITOR = ParkingTariff(
    version="v1",
    currency="CNY",
    block_minutes=60,
    day_rate=Decimal("5"),
    free_minutes=15,
    night_rate=Decimal("2"),
    night_start=time(22),
    night_end=time(7),
    daily_cap=Decimal("40"),
    grace_minutes=15,
)


def at(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


def test_convenience_time_is_free() -> None:
    entry = at(SHANGHAI, 2026, 11, 25, 10, 0)
    assert price(VISITOR, entry, entry + timedelta(minutes=15), SHANGHAI).amount == 0
    assert price(VISITOR, entry, entry + timedelta(minutes=16), SHANGHAI).amount == 500


def test_started_blocks_count_and_half_hours() -> None:
    entry = at(SHANGHAI, 2026, 11, 25, 10, 0)
    assert price(VISITOR, entry, entry + timedelta(minutes=61), SHANGHAI).amount == 1000
    half = ParkingTariff(version="h", currency="CNY", block_minutes=30, day_rate=Decimal("2.5"))
    assert price(half, entry, entry + timedelta(minutes=61), SHANGHAI).amount == 750


def test_night_rate_applies_to_blocks_starting_at_night() -> None:
    entry = at(SHANGHAI, 2026, 11, 25, 21, 0)
    quote = price(VISITOR, entry, entry + timedelta(hours=3), SHANGHAI)
    assert quote.amount == 500 + 200 + 200  # 21:00 day, 22:00 and 23:00 night


def test_daily_cap_per_local_day() -> None:
    entry = at(SHANGHAI, 2026, 11, 25, 8, 0)
    quote = price(VISITOR, entry, at(SHANGHAI, 2026, 11, 26, 20, 0), SHANGHAI)
    # 25th: 14 day blocks (70, capped at 40) + 2 night blocks = capped 40; 26th: 7 night
    # (14) + 13 day (65) = capped 40.
    assert quote.per_day == {
        datetime(2026, 11, 25).date(): 4000,
        datetime(2026, 11, 26).date(): 4000,
    }
    assert quote.amount == 8000


def test_cap_across_a_daylight_saving_change() -> None:
    flat = ParkingTariff(version="f", currency="EUR", block_minutes=60, day_rate=Decimal("1"))
    capped = ParkingTariff(
        version="c",
        currency="EUR",
        block_minutes=60,
        day_rate=Decimal("1"),
        daily_cap=Decimal("24"),
    )
    # 2026-10-25 in Berlin has 25 hours: clocks go back from 03:00 to 02:00.
    entry = at(BERLIN, 2026, 10, 25, 0, 0)
    leaving = at(BERLIN, 2026, 10, 26, 0, 0)
    # (same-zone subtraction in Python is wall-clock time; the real length is 25 hours)
    assert leaving.astimezone(UTC) - entry.astimezone(UTC) == timedelta(hours=25)
    assert price(flat, entry, leaving, BERLIN).amount == 2500
    assert price(capped, entry, leaving, BERLIN).amount == 2400
    # 2026-03-29 has 23 hours: a whole local day costs 23 blocks, under the cap.
    spring = price(capped, at(BERLIN, 2026, 3, 29, 0, 0), at(BERLIN, 2026, 3, 30, 0, 0), BERLIN)
    assert spring.amount == 2300


def test_grace_period_after_paying() -> None:
    entry = at(SHANGHAI, 2026, 11, 25, 10, 0)
    paid = entry + timedelta(hours=2)
    assert due_at_exit(VISITOR, entry, paid, paid + timedelta(minutes=15), SHANGHAI).amount == 0
    late = due_at_exit(VISITOR, entry, paid, paid + timedelta(minutes=20), SHANGHAI)
    assert late.amount == 500  # no second convenience period
    assert due_at_exit(VISITOR, entry, None, paid, SHANGHAI).amount == 1000


def test_bad_stays_are_refused() -> None:
    entry = at(SHANGHAI, 2026, 11, 25, 10, 0)
    with pytest.raises(TariffError):
        price(VISITOR, entry, entry - timedelta(seconds=1), SHANGHAI)
    with pytest.raises(TariffError):
        price(VISITOR, datetime(2026, 1, 1), datetime(2026, 1, 2), SHANGHAI)  # no zone
    with pytest.raises(TariffError):
        ParkingTariff(version="x", currency="CNY", block_minutes=45, day_rate=Decimal(1))


moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
stays = st.integers(min_value=0, max_value=60 * 24 * 9)


@given(entry=moments, minutes=stays, extra=st.integers(min_value=0, max_value=600))
def test_longer_stays_never_cost_less(entry: datetime, minutes: int, extra: int) -> None:
    short = price(VISITOR, entry, entry + timedelta(minutes=minutes), BERLIN)
    long = price(VISITOR, entry, entry + timedelta(minutes=minutes + extra), BERLIN)
    assert long.amount >= short.amount


@given(entry=moments, minutes=stays)
def test_never_more_than_the_cap_per_local_day(entry: datetime, minutes: int) -> None:
    leaving = entry + timedelta(minutes=minutes)
    quote = price(VISITOR, entry, leaving, BERLIN)
    assert all(0 <= amount <= 4000 for amount in quote.per_day.values())
    assert quote.amount == sum(quote.per_day.values())
    days = (leaving.astimezone(BERLIN).date() - entry.astimezone(BERLIN).date()).days + 1
    assert quote.amount <= 4000 * days


@given(entry=moments, minutes=stays)
def test_uncapped_price_is_blocks_times_rates(entry: datetime, minutes: int) -> None:
    flat = ParkingTariff(version="f", currency="CNY", block_minutes=30, day_rate=Decimal("1.25"))
    quote = price(flat, entry, entry + timedelta(minutes=minutes), SHANGHAI)
    expected_blocks = 0 if minutes == 0 else -(-minutes // 30)
    assert quote.blocks == expected_blocks
    assert abs(quote.amount - expected_blocks * 125) < len(quote.per_day) + 1


# -- more properties: convenience time, night rates, grace, caps across DST -----------------

FLAT_NIGHT = ParkingTariff(
    version="n",
    currency="CNY",
    block_minutes=30,
    day_rate=Decimal("3"),
    night_rate=Decimal("1"),
    night_start=time(22),
    night_end=time(7),
)


@given(entry=moments, minutes=st.integers(min_value=0, max_value=15))
def test_a_stay_within_the_convenience_time_is_free(entry: datetime, minutes: int) -> None:
    assert price(VISITOR, entry, entry + timedelta(minutes=minutes), BERLIN).amount == 0


@given(
    day=st.dates(min_value=datetime(2026, 1, 1).date(), max_value=datetime(2027, 12, 30).date()),
    start_minute=st.integers(min_value=0, max_value=7 * 60),
    length=st.integers(min_value=1, max_value=7 * 60),
)
def test_blocks_starting_at_night_cost_the_night_rate(
    day: Any, start_minute: int, length: int
) -> None:
    # Shanghai keeps one offset all year, so 22:00 + 30-minute blocks stay on the clock.
    entry = datetime.combine(day, time(22), tzinfo=SHANGHAI) + timedelta(minutes=start_minute)
    leaving = entry + timedelta(minutes=length)
    quote = price(FLAT_NIGHT, entry, leaving, SHANGHAI)
    night_blocks = sum(
        1
        for i in range(quote.blocks)
        if FLAT_NIGHT.is_night((entry + timedelta(minutes=30 * i)).astimezone(SHANGHAI).time())
    )
    assert quote.amount == night_blocks * 100 + (quote.blocks - night_blocks) * 300


@given(
    entry=moments,
    minutes=stays,
    paid_after=st.integers(min_value=0, max_value=600),
    within=st.integers(min_value=0, max_value=15 * 60),
)
def test_leaving_within_the_grace_period_owes_nothing(
    entry: datetime, minutes: int, paid_after: int, within: int
) -> None:
    paid = entry + timedelta(minutes=minutes + paid_after)
    leaving = paid + timedelta(seconds=within)
    assert due_at_exit(VISITOR, entry, paid, leaving, BERLIN).amount == 0
    late = due_at_exit(VISITOR, entry, paid, paid + timedelta(minutes=16), BERLIN)
    assert late.amount > 0


DST_DAYS = st.sampled_from(
    [datetime(2026, 3, 29).date(), datetime(2026, 10, 25).date(), datetime(2027, 3, 28).date()]
)


@given(day=DST_DAYS, hours=st.integers(min_value=1, max_value=72))
def test_the_cap_holds_per_local_day_across_a_clock_change(day: Any, hours: int) -> None:
    capped = ParkingTariff(
        version="c", currency="EUR", block_minutes=60, day_rate=Decimal("2"), daily_cap=Decimal(30)
    )
    entry = datetime.combine(day, time(0), tzinfo=BERLIN)
    leaving = (entry.astimezone(UTC) + timedelta(hours=hours)).astimezone(BERLIN)
    quote = price(capped, entry, leaving, BERLIN)
    assert all(amount <= 3000 for amount in quote.per_day.values())
    assert quote.blocks == hours  # real hours: 23 or 25 on the day of the change
    first_day_hours = min(hours, 23 if day.month == 3 else 25)
    assert quote.per_day[day] == min(3000, first_day_hours * 200)


# -- specs, passes and rules ------------------------------------------------------------------


@given(
    rate=st.decimals(min_value=0, max_value=1000, places=2),
    cap=st.none() | st.decimals(min_value=0, max_value=10_000, places=2),
    block=st.sampled_from([15, 30, 60]),
)
def test_a_tariff_survives_its_spec(rate: Decimal, cap: Decimal | None, block: int) -> None:
    tariff = ParkingTariff(
        version="x", currency="CNY", block_minutes=block, day_rate=rate, daily_cap=cap
    )
    assert tariff_from_spec(tariff_to_spec(tariff)) == tariff


def test_bad_specs_are_tariff_errors() -> None:
    for spec in ({}, {"version": "x", "currency": "CNY", "block_minutes": 60, "day_rate": "x"}):
        with pytest.raises(TariffError):
            tariff_from_spec(spec)


def test_pass_terms_and_renewal_dates() -> None:
    jan31 = datetime(2027, 1, 31).date()
    assert pass_term(jan31, PassPeriod.MONTHLY)[1] == datetime(2027, 2, 27).date()
    assert (
        pass_term(datetime(2026, 11, 1).date(), PassPeriod.QUARTERLY)[1]
        == datetime(2027, 1, 31).date()
    )
    assert next_term(datetime(2026, 11, 30).date(), PassPeriod.ANNUAL) == (
        datetime(2026, 12, 1).date(),
        datetime(2027, 11, 30).date(),
    )
    until = datetime(2026, 11, 30).date()
    assert not renewal_due(until, datetime(2026, 11, 22).date(), 7)
    assert renewal_due(until, datetime(2026, 11, 23).date(), 7)


def test_a_pass_ending_mid_stay_follows_the_rule() -> None:
    entry = at(SHANGHAI, 2026, 11, 24, 23, 0)
    ends = at(SHANGHAI, 2026, 11, 25, 0, 0)
    leaving = at(SHANGHAI, 2026, 11, 25, 9, 30)
    day_tariff = ParkingTariff(version="d", currency="CNY", block_minutes=60, day_rate=Decimal(5))
    tariff_rule = Rule(Situation.PASS_EXPIRED_MID_STAY, RuleAction.CHARGE_TARIFF)
    assert due_after_pass(day_tariff, entry, ends, leaving, SHANGHAI, tariff_rule) == (5000, False)
    maximum = Rule(Situation.PASS_EXPIRED_MID_STAY, RuleAction.CHARGE_MAXIMUM, 8000)
    assert due_after_pass(day_tariff, entry, ends, leaving, SHANGHAI, maximum) == (8000, False)
    review = Rule(Situation.PASS_EXPIRED_MID_STAY, RuleAction.REVIEW)
    assert due_after_pass(day_tariff, entry, ends, leaving, SHANGHAI, review) == (0, True)
    assert due_after_pass(day_tariff, entry, ends, ends, SHANGHAI, review) == (0, False)
    with pytest.raises(TariffError):
        Rule(Situation.REVERSED_OUT, RuleAction.CHARGE_TARIFF)
