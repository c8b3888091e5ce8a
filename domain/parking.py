"""Parking tariffs: pure functions, so a gate prices a stay offline exactly as the server does.

A stay is charged in whole blocks (an hour or half an hour) from the moment
the car entered; a started block counts. Each block costs the rate in force
when it starts (the night rate inside the night window, in the estate's local
time). The blocks are summed per calendar day of the estate's time zone, each
day's sum is capped, and only then rounded to minor units, once per day. A day
of 23 or 25 hours (a daylight-saving change) simply holds fewer or more blocks:
blocks are measured in real elapsed time. A stay no longer than the free
convenience time costs nothing. After paying, the driver has a grace period to
reach the exit; staying longer is charged as a new stay from the payment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from domain.money import to_minor

MAX_STAY = timedelta(days=366)


class TariffError(ValueError):
    """A tariff or a stay that cannot be priced."""


@dataclass(frozen=True, slots=True)
class ParkingTariff:
    version: str
    currency: str
    block_minutes: int  # 60 or 30
    day_rate: Decimal  # per block, in major units
    free_minutes: int = 0  # convenience time: a stay this short is free
    night_rate: Decimal | None = None
    night_start: time = time(22, 0)
    night_end: time = time(7, 0)
    daily_cap: Decimal | None = None  # per calendar day of the estate's zone
    grace_minutes: int = 15

    def __post_init__(self) -> None:
        if self.block_minutes not in (15, 30, 60):
            raise TariffError("blocks are 15, 30 or 60 minutes")
        rates = [self.day_rate, *([] if self.night_rate is None else [self.night_rate])]
        if any(rate < 0 for rate in rates):
            raise TariffError("rates cannot be negative")
        if self.daily_cap is not None and self.daily_cap < 0:
            raise TariffError("the daily cap cannot be negative")
        if self.free_minutes < 0 or self.grace_minutes < 0:
            raise TariffError("free and grace minutes cannot be negative")

    def is_night(self, local: time) -> bool:
        if self.night_rate is None:
            return False
        if self.night_start <= self.night_end:
            return self.night_start <= local < self.night_end
        return local >= self.night_start or local < self.night_end

    def rate_at(self, moment: datetime, zone: ZoneInfo) -> Decimal:
        local = moment.astimezone(zone).time()
        if self.is_night(local):
            assert self.night_rate is not None
            return self.night_rate
        return self.day_rate


@dataclass(frozen=True, slots=True)
class Quote:
    amount: int  # minor units
    blocks: int
    per_day: dict[date, int] = field(default_factory=dict)  # local date -> minor units
    tariff_version: str = ""


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise TariffError("times must carry a zone")
    return moment.astimezone(UTC)


def price(tariff: ParkingTariff, entry: datetime, leaving: datetime, zone: ZoneInfo) -> Quote:
    """What a stay from ``entry`` to ``leaving`` costs under ``tariff``."""
    start, end = _aware(entry), _aware(leaving)
    if end < start:
        raise TariffError("the car left before it entered")
    if end - start > MAX_STAY:
        raise TariffError("a stay of more than a year is for a manager to settle")
    if end - start <= timedelta(minutes=tariff.free_minutes):
        return Quote(0, 0, {}, tariff.version)
    block = timedelta(minutes=tariff.block_minutes)
    sums: dict[date, Decimal] = {}
    blocks = 0
    moment = start
    while moment < end:
        day = moment.astimezone(zone).date()
        sums[day] = sums.get(day, Decimal(0)) + tariff.rate_at(moment, zone)
        blocks += 1
        moment += block
    per_day = {}
    for day, total in sums.items():
        capped = total if tariff.daily_cap is None else min(total, tariff.daily_cap)
        per_day[day] = to_minor(capped, tariff.currency)
    return Quote(sum(per_day.values()), blocks, per_day, tariff.version)


def due_at_exit(
    tariff: ParkingTariff,
    entry: datetime,
    paid_at: datetime | None,
    leaving: datetime,
    zone: ZoneInfo,
) -> Quote:
    """What is still owed at the exit barrier, given a payment made at ``paid_at``."""
    if paid_at is None:
        return price(tariff, entry, leaving, zone)
    if _aware(leaving) - _aware(paid_at) <= timedelta(minutes=tariff.grace_minutes):
        return Quote(0, 0, {}, tariff.version)
    # Overstaying the grace period: the time since payment is a new stay, with no
    # second convenience period.
    overstay = ParkingTariff(
        version=tariff.version,
        currency=tariff.currency,
        block_minutes=tariff.block_minutes,
        day_rate=tariff.day_rate,
        free_minutes=0,
        night_rate=tariff.night_rate,
        night_start=tariff.night_start,
        night_end=tariff.night_end,
        daily_cap=tariff.daily_cap,
        grace_minutes=tariff.grace_minutes,
    )
    return price(overstay, paid_at, leaving, zone)
