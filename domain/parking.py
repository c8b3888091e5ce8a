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

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from domain.facilities import add_months
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


# -- tariffs on the wire ------------------------------------------------------------------


class TariffKind(StrEnum):
    RESIDENT = "resident"
    VISITOR = "visitor"


def tariff_to_spec(tariff: ParkingTariff) -> dict[str, Any]:
    """A tariff as JSON-ready data: stored on the server, carried in a gate's snapshot."""
    return {
        "version": tariff.version,
        "currency": tariff.currency,
        "block_minutes": tariff.block_minutes,
        "day_rate": str(tariff.day_rate),
        "free_minutes": tariff.free_minutes,
        "night_rate": None if tariff.night_rate is None else str(tariff.night_rate),
        "night_start": tariff.night_start.strftime("%H:%M"),
        "night_end": tariff.night_end.strftime("%H:%M"),
        "daily_cap": None if tariff.daily_cap is None else str(tariff.daily_cap),
        "grace_minutes": tariff.grace_minutes,
    }


def _dec(value: Any, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise TariffError(f"{what} is not a number: {value!r}") from None
    if not number.is_finite():
        raise TariffError(f"{what} is not a number: {value!r}")
    return number


def tariff_from_spec(spec: Mapping[str, Any]) -> ParkingTariff:
    """The inverse of :func:`tariff_to_spec`; raises ``TariffError`` on a bad spec."""
    try:
        night = spec.get("night_rate")
        cap = spec.get("daily_cap")
        return ParkingTariff(
            version=str(spec["version"]),
            currency=str(spec["currency"]),
            block_minutes=int(spec["block_minutes"]),
            day_rate=_dec(spec["day_rate"], "day_rate"),
            free_minutes=int(spec.get("free_minutes", 0)),
            night_rate=None if night is None else _dec(night, "night_rate"),
            night_start=time.fromisoformat(str(spec.get("night_start", "22:00"))),
            night_end=time.fromisoformat(str(spec.get("night_end", "07:00"))),
            daily_cap=None if cap is None else _dec(cap, "daily_cap"),
            grace_minutes=int(spec.get("grace_minutes", 15)),
        )
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, TariffError):
            raise
        raise TariffError(f"not a parking tariff: {err}") from err


# -- passes ---------------------------------------------------------------------------------


class PassPeriod(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUAL = "annual"

    @property
    def months(self) -> int:
        return {"monthly": 1, "quarterly": 3, "annual": 12}[self.value]


def pass_term(start: date, period: PassPeriod) -> tuple[date, date]:
    """A pass's first and last valid local day (inclusive) for one period from ``start``."""
    return start, add_months(start, period.months) - timedelta(days=1)


def next_term(valid_until: date, period: PassPeriod) -> tuple[date, date]:
    """The period a renewal buys: from the day after the current one ends."""
    return pass_term(valid_until + timedelta(days=1), period)


def renewal_due(valid_until: date, today: date, renew_days_before: int) -> bool:
    """Whether a pass ending on ``valid_until`` should be renewed today (or is overdue)."""
    return today >= valid_until - timedelta(days=renew_days_before)


def reminder_due(valid_until: date, today: date, remind_days_before: int) -> bool:
    return today >= valid_until - timedelta(days=remind_days_before)


def pass_valid(valid_from: date, valid_until: date, local_day: date) -> bool:
    return valid_from <= local_day <= valid_until


# -- what a manager decides for the awkward cases ---------------------------------------------


class Situation(StrEnum):
    EXIT_WITHOUT_ENTRY = "exit_without_entry"  # no session for the plate read at the exit
    ALREADY_INSIDE = "already_inside"  # an entry for a plate (or pass) already inside
    PASS_EXPIRED_MID_STAY = "pass_expired_mid_stay"  # the pass ended while the car was in
    REVERSED_OUT = "reversed_out"  # the barrier opened, the car backed out of the lane


class RuleAction(StrEnum):
    CHARGE_MAXIMUM = "charge_maximum"  # the rule's fixed maximum (an unknown stay)
    CHARGE_TARIFF = "charge_tariff"  # the tariff from the pass's end (mid-stay expiry)
    REVIEW = "review"  # let the car through, raise the case for a manager
    CANCEL = "cancel"  # forget the opening (a car that reversed out)


ALLOWED_ACTIONS: dict[Situation, frozenset[RuleAction]] = {
    Situation.EXIT_WITHOUT_ENTRY: frozenset({RuleAction.CHARGE_MAXIMUM, RuleAction.REVIEW}),
    Situation.ALREADY_INSIDE: frozenset({RuleAction.CHARGE_MAXIMUM, RuleAction.REVIEW}),
    Situation.PASS_EXPIRED_MID_STAY: frozenset(
        {RuleAction.CHARGE_TARIFF, RuleAction.CHARGE_MAXIMUM, RuleAction.REVIEW}
    ),
    Situation.REVERSED_OUT: frozenset({RuleAction.CANCEL, RuleAction.REVIEW}),
}


@dataclass(frozen=True, slots=True)
class Rule:
    situation: Situation
    action: RuleAction
    maximum: int = 0  # minor units, for CHARGE_MAXIMUM

    def __post_init__(self) -> None:
        if self.action not in ALLOWED_ACTIONS[self.situation]:
            raise TariffError(f"{self.action.value} is not a rule for {self.situation.value}")
        if self.maximum < 0:
            raise TariffError("a maximum charge cannot be negative")


DEFAULT_RULES: dict[Situation, Rule] = {
    Situation.EXIT_WITHOUT_ENTRY: Rule(Situation.EXIT_WITHOUT_ENTRY, RuleAction.REVIEW),
    Situation.ALREADY_INSIDE: Rule(Situation.ALREADY_INSIDE, RuleAction.REVIEW),
    Situation.PASS_EXPIRED_MID_STAY: Rule(
        Situation.PASS_EXPIRED_MID_STAY, RuleAction.CHARGE_TARIFF
    ),
    Situation.REVERSED_OUT: Rule(Situation.REVERSED_OUT, RuleAction.CANCEL),
}


def due_after_pass(
    tariff: ParkingTariff,
    entry: datetime,
    pass_ends: datetime,
    leaving: datetime,
    zone: ZoneInfo,
    rule: Rule,
) -> tuple[int, bool]:
    """What a stay costs when its pass ended mid-stay, and whether it goes to review.

    ``pass_ends`` is the first moment the pass no longer covers (local midnight
    after its last day). Under ``CHARGE_TARIFF`` the time after it is priced as
    a stay of its own, with no convenience time: the driver was inside already.
    """
    if _aware(leaving) <= _aware(pass_ends):
        return 0, False
    if rule.action is RuleAction.REVIEW:
        return 0, True
    if rule.action is RuleAction.CHARGE_MAXIMUM:
        return rule.maximum, False
    start = max(_aware(entry), _aware(pass_ends))
    return price(replace(tariff, free_minutes=0), start, leaving, zone).amount, False
