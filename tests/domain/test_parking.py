"""Parking tariffs: convenience time, blocks, night rates, daily caps across a
daylight-saving change, the grace period after paying."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.parking import ParkingTariff, TariffError, due_at_exit, price

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
