"""Utility tariffs and their pricing: pure functions, the same on every machine.

A tariff is versioned by the moment it takes effect. Usage between two readings
is spread evenly over the time between them and cut wherever something changes
the price: a new tariff version, the start of a tier period (a month, or a year
as for mainland residential electricity), or a time-of-use window when the meter
has no per-rate registers. Each piece is priced by the tariff in force at its
start. The result is an exact :class:`~decimal.Decimal` in major units; turning
it into minor units (with the remainder carried per meter) is
:func:`domain.money.split_minor`'s job, the one place where rounding happens.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

MAX_PRICE = Decimal(10) ** 6  # a unit price (or a day's standing charge) in major units


class TariffError(ValueError):
    """A tariff that cannot price anything: fix its definition."""


class TariffKind(StrEnum):
    FLAT = "flat"
    TIERED = "tiered"
    TIME_OF_USE = "tou"


class TierPeriod(StrEnum):
    MONTHLY = "monthly"
    ANNUAL = "annual"


@dataclass(frozen=True, slots=True)
class Tier:
    """Usage in the period up to ``up_to`` (cumulative; None: no limit) at ``price``."""

    up_to: Decimal | None
    price: Decimal


@dataclass(frozen=True, slots=True)
class Window:
    """Local times ``[start, end)`` (wrapping past midnight if end <= start) priced as ``rate``."""

    start: time
    end: time
    rate: str

    def contains(self, t: time) -> bool:
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


@dataclass(frozen=True, slots=True)
class Tariff:
    code: str
    utility: str
    effective_from: datetime  # aware
    kind: TariffKind
    price: Decimal = Decimal(0)  # flat
    tiers: tuple[Tier, ...] = ()
    tier_period: TierPeriod = TierPeriod.MONTHLY
    rates: Mapping[str, Decimal] = field(default_factory=dict)  # time-of-use: rate -> price
    windows: tuple[Window, ...] = ()  # time-of-use by the clock; the first match wins
    default_rate: str = ""  # time-of-use rate outside every window
    standing_daily: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if self.effective_from.tzinfo is None:
            raise TariffError("a tariff takes effect at an aware moment")
        if self.kind is TariffKind.TIERED:
            if not self.tiers or self.tiers[-1].up_to is not None:
                raise TariffError("a tiered tariff needs tiers, the last without a limit")
            limits = [t.up_to for t in self.tiers[:-1] if t.up_to is not None]
            if len(limits) != len(self.tiers) - 1 or any(x <= 0 for x in limits):
                raise TariffError("tier limits must be positive")
            if limits != sorted(set(limits)):
                raise TariffError("tier limits must be positive and increasing")
        if self.kind is TariffKind.TIME_OF_USE:
            if not self.rates:
                raise TariffError("a time-of-use tariff needs rates")
            named = {w.rate for w in self.windows} | {self.default_rate}
            if not named <= set(self.rates):
                raise TariffError(f"windows name unknown rates: {named - set(self.rates)}")
        prices = [self.price, self.standing_daily, *(t.price for t in self.tiers)]
        if any(not 0 <= p <= MAX_PRICE for p in [*prices, *self.rates.values()]):
            raise TariffError(f"prices are from 0 to {MAX_PRICE} a unit")
        if not (0 < len(self.code) <= 32 and self.code.isprintable()):
            raise TariffError("a tariff code is 1 to 32 printable characters")

    def rate_at(self, local: time) -> str:
        for window in self.windows:
            if window.contains(local):
                return window.rate
        return self.default_rate

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "utility": self.utility,
            "effective_from": self.effective_from.isoformat(),
            "kind": self.kind.value,
            "price": str(self.price),
            "tiers": [
                {"up_to": None if t.up_to is None else str(t.up_to), "price": str(t.price)}
                for t in self.tiers
            ],
            "tier_period": self.tier_period.value,
            "rates": {k: str(v) for k, v in self.rates.items()},
            "windows": [
                {
                    "start": w.start.isoformat("minutes"),
                    "end": w.end.isoformat("minutes"),
                    "rate": w.rate,
                }
                for w in self.windows
            ],
            "default_rate": self.default_rate,
            "standing_daily": str(self.standing_daily),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tariff:
        try:
            return cls(
                code=str(data["code"]),
                utility=str(data["utility"]),
                effective_from=datetime.fromisoformat(str(data["effective_from"])),
                kind=TariffKind(data["kind"]),
                price=Decimal(str(data.get("price", "0"))),
                tiers=tuple(
                    Tier(
                        None if t.get("up_to") is None else Decimal(str(t["up_to"])),
                        Decimal(str(t["price"])),
                    )
                    for t in data.get("tiers", ())
                ),
                tier_period=TierPeriod(data.get("tier_period", "monthly")),
                rates={str(k): Decimal(str(v)) for k, v in data.get("rates", {}).items()},
                windows=tuple(
                    Window(time.fromisoformat(w["start"]), time.fromisoformat(w["end"]), w["rate"])
                    for w in data.get("windows", ())
                ),
                default_rate=str(data.get("default_rate", "")),
                standing_daily=Decimal(str(data.get("standing_daily", "0"))),
            )
        except (KeyError, ValueError, TypeError, ArithmeticError, AttributeError) as err:
            if isinstance(err, TariffError):
                raise
            raise TariffError(f"not a tariff: {err}") from err

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)


def tier_cost(tiers: Sequence[Tier], before: Decimal, usage: Decimal) -> Decimal:
    """The price of ``usage`` when ``before`` was already used in the tier period."""
    cost = Decimal(0)
    low = Decimal(0)
    top = before + usage
    for tier in tiers:
        high = top if tier.up_to is None else tier.up_to
        overlap = min(top, high) - max(before, low)
        if overlap > 0:
            cost += overlap * tier.price
        low = high
    return cost


def period_start(local: datetime, period: TierPeriod) -> date:
    """The first day of the tier period that holds this local moment."""
    if period is TierPeriod.ANNUAL:
        return date(local.year, 1, 1)
    return date(local.year, local.month, 1)


@dataclass(frozen=True, slots=True)
class PeriodUsage:
    """What a meter has used so far in its current tier period."""

    start: date | None = None
    usage: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Piece:
    start: datetime
    end: datetime
    usage: Decimal
    amount: Decimal
    tariff: str
    rate: str  # the tier period or time-of-use rate it was priced at ("" for flat)


@dataclass(frozen=True, slots=True)
class Priced:
    amount: Decimal
    period: PeriodUsage
    pieces: tuple[Piece, ...]


def in_force(tariffs: Sequence[Tariff], at: datetime) -> Tariff:
    """The version in force at ``at``: the latest that took effect at or before it."""
    best: Tariff | None = None
    for tariff in tariffs:
        if tariff.effective_from <= at and (
            best is None or tariff.effective_from > best.effective_from
        ):
            best = tariff
    if best is None:
        raise TariffError(f"no tariff is in force at {at.isoformat()}")
    return best


def _boundaries(
    tariffs: Sequence[Tariff], zone: ZoneInfo, start: datetime, end: datetime, by_clock: bool
) -> list[datetime]:
    cuts = {t.effective_from for t in tariffs if start < t.effective_from < end}
    local = start.astimezone(zone)
    day = local.date()
    last = end.astimezone(zone).date()
    clock_times: set[time] = set()
    if by_clock:
        for t in tariffs:
            for w in t.windows:
                clock_times.update((w.start, w.end))
    while day <= last:
        midnight = datetime.combine(day, time(0), zone)
        if day.day == 1:  # month (and year) starts: tier periods change here
            cuts.add(midnight.astimezone(UTC))
        for clock in clock_times:
            cuts.add(datetime.combine(day, clock, zone).astimezone(UTC))
        day += timedelta(days=1)
    return sorted(c for c in cuts if start < c < end)


def spread(
    usage: Decimal, start: datetime, end: datetime, cuts: Sequence[datetime]
) -> list[tuple[datetime, datetime, Decimal]]:
    """Share ``usage`` evenly over time at the cuts; the parts sum to ``usage`` exactly."""
    points = [start, *cuts, end]
    total = (end - start).total_seconds()
    parts: list[tuple[datetime, datetime, Decimal]] = []
    given = Decimal(0)
    for a, b in pairwise(points):
        if b is end:
            part = usage - given
        else:
            part = usage * Decimal(str((b - a).total_seconds())) / Decimal(str(total))
            given += part
        parts.append((a, b, part))
    return parts


def _one_piece(
    tariffs: Sequence[Tariff],
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    usage: Decimal,
    period: PeriodUsage,
) -> Priced | None:
    """The common case, priced without cutting: one tariff version, one tier period."""
    tariff = in_force(tariffs, start)
    if any(start < t.effective_from < end for t in tariffs):
        return None
    p_start = period_start(start.astimezone(zone), tariff.tier_period)
    if period_start((end - timedelta(microseconds=1)).astimezone(zone), tariff.tier_period) != (
        p_start
    ):
        return None
    before = period.usage if period.start == p_start else Decimal(0)
    if tariff.kind is TariffKind.FLAT:
        cost, rate = usage * tariff.price, ""
    else:
        cost, rate = tier_cost(tariff.tiers, before, usage), p_start.isoformat()
    piece = Piece(start, end, usage, cost, tariff.code, rate)
    return Priced(cost, PeriodUsage(p_start, before + usage), (piece,))


def price_usage(
    tariffs: Sequence[Tariff],
    *,
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    usage: Decimal,
    period: PeriodUsage,
    registers: Mapping[str, Decimal] | None = None,
) -> Priced:
    """Price the usage between two readings.

    ``registers`` are the per-rate register deltas of a time-of-use meter (their
    sum is ``usage``); without them a time-of-use tariff prices by the clock.
    ``period`` is the tier-period usage before ``start``; the answer carries it on.
    """
    if end <= start:
        raise TariffError("usage needs an interval that moves forward in time")
    if usage < 0:
        raise TariffError("usage cannot be negative")
    by_clock = registers is None and any(t.kind is TariffKind.TIME_OF_USE for t in tariffs)
    if registers is None and not by_clock:
        quick = _one_piece(tariffs, zone, start, end, usage, period)
        if quick is not None:
            return quick
    cuts = _boundaries(tariffs, zone, start, end, by_clock)
    pieces: list[Piece] = []
    state = period
    streams: list[tuple[str | None, Decimal]] = (
        [(None, usage)] if registers is None else sorted(registers.items())
    )
    for rate_name, amount_used in streams:
        for a, b, part in spread(amount_used, start, end, cuts):
            tariff = in_force(tariffs, a)
            local = a.astimezone(zone)
            p_start = period_start(local, tariff.tier_period)
            before = state.usage if state.start == p_start else Decimal(0)
            if tariff.kind is TariffKind.FLAT:
                cost, rate = part * tariff.price, ""
            elif tariff.kind is TariffKind.TIERED:
                cost, rate = tier_cost(tariff.tiers, before, part), p_start.isoformat()
            else:
                rate = rate_name if rate_name is not None else tariff.rate_at(local.time())
                if rate not in tariff.rates:
                    raise TariffError(f"tariff {tariff.code} has no rate {rate!r}")
                cost = part * tariff.rates[rate]
            state = PeriodUsage(p_start, before + part)
            pieces.append(Piece(a, b, part, cost, tariff.code, rate))
    return Priced(sum((p.amount for p in pieces), Decimal(0)), state, tuple(pieces))


def standing_charge(
    tariffs: Sequence[Tariff], *, zone: ZoneInfo, through: date | None, upto: datetime
) -> tuple[Decimal, date | None]:
    """Daily standing charges for the local days after ``through`` up to the day of ``upto``.

    A day is charged once it has begun. Returns the amount and the new ``through``.
    """
    last = upto.astimezone(zone).date()
    if through is None:
        through = last - timedelta(days=1)
    amount = Decimal(0)
    day = through + timedelta(days=1)
    while day <= last:
        midnight = datetime.combine(day, time(0), zone).astimezone(UTC)
        with suppress(TariffError):  # no tariff yet that day: nothing to charge
            amount += in_force(tariffs, midnight).standing_daily
        day += timedelta(days=1)
    return amount, max(through, last)


def with_effect(tariff: Tariff, moment: datetime) -> Tariff:
    """The same tariff taking effect at another moment (a new version)."""
    return replace(tariff, effective_from=moment)
