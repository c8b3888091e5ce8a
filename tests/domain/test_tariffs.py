"""Tariff arithmetic, property-based: tiers and their periods, time-of-use, changes, rounding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.money import split_minor
from domain.tariffs import (
    PeriodUsage,
    Tariff,
    TariffError,
    TariffKind,
    Tier,
    TierPeriod,
    Window,
    price_usage,
    standing_charge,
    tier_cost,
)

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 1, 1, tzinfo=UTC)
TIERS = (
    Tier(Decimal(180), Decimal("0.5283")),
    Tier(Decimal(280), Decimal("0.5783")),
    Tier(None, Decimal("0.8283")),
)
usage = st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False, allow_infinity=False)
price = st.decimals(min_value=0, max_value=10, places=4, allow_nan=False, allow_infinity=False)


def flat(p: Decimal, at: datetime = START, standing: Decimal = Decimal(0)) -> Tariff:
    return Tariff("t", "electricity", at, TariffKind.FLAT, price=p, standing_daily=standing)


def tiered(period: TierPeriod = TierPeriod.MONTHLY) -> Tariff:
    return Tariff("t", "electricity", START, TariffKind.TIERED, tiers=TIERS, tier_period=period)


TOU = Tariff(
    "t",
    "electricity",
    START,
    TariffKind.TIME_OF_USE,
    rates={"peak": Decimal("0.617"), "valley": Decimal("0.307")},
    windows=(Window(clock(22), clock(6), "valley"),),
    default_rate="peak",
)


@given(before=usage, a=usage, b=usage)
def test_tier_cost_is_additive_within_a_period(before: Decimal, a: Decimal, b: Decimal) -> None:
    assert tier_cost(TIERS, before, a) + tier_cost(TIERS, before + a, b) == tier_cost(
        TIERS, before, a + b
    )


@given(x=usage)
def test_tier_cost_is_between_the_cheapest_and_dearest_tier(x: Decimal) -> None:
    assert x * TIERS[0].price <= tier_cost(TIERS, Decimal(0), x) <= x * TIERS[-1].price


@given(used=st.lists(usage, min_size=1, max_size=10))
def test_readings_in_one_month_price_like_the_month_total(used: list[Decimal]) -> None:
    period = PeriodUsage()
    total = Decimal(0)
    at = datetime(2026, 3, 1, 16, tzinfo=UTC)  # 2 March 00:00 local
    for i, x in enumerate(used):
        priced = price_usage(
            [tiered()],
            zone=ZONE,
            start=at + timedelta(hours=i),
            end=at + timedelta(hours=i + 1),
            usage=x,
            period=period,
        )
        period = priced.period
        total += priced.amount
    assert total == tier_cost(TIERS, Decimal(0), sum(used, Decimal(0)))


@given(x=usage, y=usage)
def test_a_new_month_starts_the_tiers_again(x: Decimal, y: Decimal) -> None:
    # Local month boundary: 1 April 00:00 Shanghai is 31 March 16:00 UTC.
    boundary = datetime(2026, 3, 31, 16, tzinfo=UTC)
    march = price_usage(
        [tiered()],
        zone=ZONE,
        start=boundary - timedelta(days=30),
        end=boundary,
        usage=x,
        period=PeriodUsage(),
    )
    april = price_usage(
        [tiered()],
        zone=ZONE,
        start=boundary,
        end=boundary + timedelta(days=1),
        usage=y,
        period=march.period,
    )
    assert april.amount == tier_cost(TIERS, Decimal(0), y)
    # Annual tiers carry on across the month.
    year = tiered(TierPeriod.ANNUAL)
    m2 = price_usage(
        [year],
        zone=ZONE,
        start=boundary - timedelta(days=30),
        end=boundary,
        usage=x,
        period=PeriodUsage(),
    )
    a2 = price_usage(
        [year],
        zone=ZONE,
        start=boundary,
        end=boundary + timedelta(days=1),
        usage=y,
        period=m2.period,
    )
    assert a2.amount == tier_cost(TIERS, x, y)


@given(x=usage)
def test_an_interval_across_the_month_is_split_evenly(x: Decimal) -> None:
    boundary = datetime(2026, 3, 31, 16, tzinfo=UTC)
    priced = price_usage(
        [tiered()],
        zone=ZONE,
        start=boundary - timedelta(hours=1),
        end=boundary + timedelta(hours=3),
        usage=x,
        period=PeriodUsage(),
    )
    parts = [p.usage for p in priced.pieces]
    assert sum(parts, Decimal(0)) == x
    assert len(parts) == 2
    assert abs(parts[0] - x / 4) < Decimal("1e-20")
    assert priced.period.usage == parts[1]


@given(peak=usage, valley=usage)
def test_time_of_use_registers_are_priced_by_their_rate(peak: Decimal, valley: Decimal) -> None:
    priced = price_usage(
        [TOU],
        zone=ZONE,
        start=START,
        end=START + timedelta(hours=5),
        usage=peak + valley,
        period=PeriodUsage(),
        registers={"peak": peak, "valley": valley},
    )
    assert priced.amount == peak * Decimal("0.617") + valley * Decimal("0.307")


@given(x=usage, hours=st.integers(min_value=1, max_value=72))
def test_time_of_use_by_the_clock(x: Decimal, hours: int) -> None:
    priced = price_usage(
        [TOU],
        zone=ZONE,
        start=START,
        end=START + timedelta(hours=hours),
        usage=x,
        period=PeriodUsage(),
    )
    assert sum((p.usage for p in priced.pieces), Decimal(0)) == x
    assert x * Decimal("0.307") - Decimal("1e-20") <= priced.amount
    assert priced.amount <= x * Decimal("0.617") + Decimal("1e-20")
    for piece in priced.pieces:  # each piece lies inside one window
        assert piece.rate == TOU.rate_at(piece.start.astimezone(ZONE).time())


def test_time_of_use_night_only() -> None:
    night = datetime(2026, 1, 1, 15, tzinfo=UTC)  # 23:00 local
    priced = price_usage(
        [TOU],
        zone=ZONE,
        start=night,
        end=night + timedelta(hours=8),
        usage=Decimal(8),
        period=PeriodUsage(),
    )
    # 23:00-06:00 local is valley (7 h), 06:00-07:00 peak.
    assert [p.rate for p in priced.pieces] == ["valley", "peak"]
    assert priced.amount == 7 * Decimal("0.307") + 1 * Decimal("0.617")


@given(x=usage, p1=price, p2=price, cut=st.integers(min_value=1, max_value=23))
def test_a_tariff_change_mid_interval_splits_the_usage(
    x: Decimal, p1: Decimal, p2: Decimal, cut: int
) -> None:
    change = START + timedelta(days=10, hours=cut)
    versions = [flat(p1), flat(p2, change)]
    start = START + timedelta(days=10)
    priced = price_usage(
        versions,
        zone=ZONE,
        start=start,
        end=start + timedelta(hours=24),
        usage=x,
        period=PeriodUsage(),
    )
    before = x * Decimal(cut * 3600) / Decimal(24 * 3600)
    assert [p.tariff for p in priced.pieces] == ["t", "t"]
    assert priced.pieces[0].usage == before
    assert priced.amount == before * p1 + (x - before) * p2


@given(steps=st.lists(usage, min_size=1, max_size=40), p=price)
@settings(max_examples=200)
def test_the_carried_remainder_makes_a_period_exact(steps: list[Decimal], p: Decimal) -> None:
    carry = Decimal(0)
    posted = 0
    for step in steps:
        minor, carry = split_minor(step * p, "CNY", carry)
        assert minor >= 0
        assert 0 <= carry < 1
        posted += minor
    exact = sum(steps, Decimal(0)) * p * 100
    assert posted + carry == exact
    assert posted == int(exact)  # to the minor unit: never more than tariff times usage


def test_standing_charge_once_a_day() -> None:
    versions = [flat(Decimal(1), standing=Decimal("0.35"))]
    at = datetime(2026, 2, 10, 4, tzinfo=UTC)
    amount, through = standing_charge(versions, zone=ZONE, through=None, upto=at)
    assert amount == Decimal("0.35")
    again, through2 = standing_charge(versions, zone=ZONE, through=through, upto=at)
    assert again == 0
    assert through2 == through
    three, _ = standing_charge(versions, zone=ZONE, through=through, upto=at + timedelta(days=3))
    assert three == Decimal("1.05")


def test_round_trip_and_refusals() -> None:
    for tariff in (tiered(), TOU, flat(Decimal("0.6173"))):
        assert Tariff.from_json(tariff.to_json()) == tariff
    with pytest.raises(TariffError):
        Tariff("t", "water", START, TariffKind.TIERED, tiers=(Tier(Decimal(5), Decimal(1)),))
    with pytest.raises(TariffError):
        Tariff.from_json(
            {"code": "x", "utility": "gas", "effective_from": "2026-01-01T00:00", "kind": "flat"}
        )
    with pytest.raises(TariffError):
        price_usage(
            [flat(Decimal(1))],
            zone=ZONE,
            start=START - timedelta(days=1),
            end=START,
            usage=Decimal(1),
            period=PeriodUsage(),
        )
