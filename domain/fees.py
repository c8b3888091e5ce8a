"""Property fees and the maintenance fund: the pure arithmetic.

A bill is the schedule's price per m2 per month times the unit's floor area,
for each day of the period the unit was occupied, each day weighing
``1 / days in its month``; the exact figure is rounded once, by
:func:`domain.money.to_minor`. Instalments split a bill in whole minor units
with the rounding on the last. A late fee is simple interest on what is
overdue, capped as a share of the bill: it never grows on earlier late fees,
and never past the cap. A project's vote passes when both the floor area and
the headcount voting yes reach their thresholds.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from domain.money import exponent, to_minor

UNIT_KINDS = ("flat", "shop", "parking")


class FeeError(ValueError):
    """A period, a schedule or a plan that cannot be."""


@dataclass(frozen=True, slots=True)
class Period:
    """Local dates ``start`` (inclusive) to ``end`` (exclusive), named like ``2026-Q1``."""

    name: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2026`` (a year), ``2026-Q3`` (a quarter) or ``2026-07`` (a month)."""
        text = text.strip().upper()
        # ASCII only: "¹".isdigit() is true, and int() refuses it.
        if not (text[:4].isascii() and text[:4].isdigit()) or not 1900 <= int(text[:4]) <= 2999:
            raise FeeError(f"a billing period starts with a year from 1900 to 2999: {text!r}")
        if m := re.fullmatch(r"(\d{4})", text, re.ASCII):
            year = int(m.group(1))
            return cls(text, date(year, 1, 1), date(year + 1, 1, 1))
        if m := re.fullmatch(r"(\d{4})-Q([1-4])", text, re.ASCII):
            year, quarter = int(m.group(1)), int(m.group(2))
            start = date(year, 3 * quarter - 2, 1)
            return cls(text, start, _add_months(start, 3))
        if m := re.fullmatch(r"(\d{4})-(0[1-9]|1[0-2])", text, re.ASCII):
            start = date(int(m.group(1)), int(m.group(2)), 1)
            return cls(text, start, _add_months(start, 1))
        raise FeeError(
            f"a billing period is a year (2026), a quarter (2026-Q1) or a month: {text!r}"
        )


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day where it is shorter)."""
    return _add_months(day, months)


@dataclass(frozen=True, slots=True)
class Rate:
    """A price per m2 per month, in force from ``effective_from`` until the next one."""

    effective_from: date
    per_m2_month: Decimal


def rate_on(rates: Sequence[Rate], day: date) -> Decimal | None:
    current: Decimal | None = None
    for rate in sorted(rates, key=lambda r: r.effective_from):
        if rate.effective_from <= day:
            current = rate.per_m2_month
    return current


def occupied_days(
    period: Period, stays: Iterable[tuple[date, date | None]]
) -> list[tuple[date, date]]:
    """The parts of ``period`` covered by at least one stay ``(moved in, moved out)``.

    A stay covers its move-in day and not its move-out day; ``None``: still there.
    Overlapping stays (two owners) count once.
    """
    spans = sorted(
        (max(start, period.start), min(end or period.end, period.end)) for start, end in stays
    )
    merged: list[tuple[date, date]] = []
    for start, end in spans:
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def period_fee(
    *,
    area_m2: Decimal,
    rates: Sequence[Rate],
    period: Period,
    stays: Iterable[tuple[date, date | None]],
) -> Decimal:
    """The exact fee in major units: each occupied day at its month's share of the rate."""
    weights: dict[tuple[Decimal, int, int], int] = {}
    for start, end in occupied_days(period, stays):
        day = start
        while day < end:
            rate = rate_on(rates, day)
            if rate is None:
                raise FeeError(f"no fee schedule is in force on {day.isoformat()}")
            key = (rate, day.year, day.month)
            weights[key] = weights.get(key, 0) + 1
            day += timedelta(days=1)
    total = Decimal(0)
    for (rate, year, month), days in weights.items():
        in_month = calendar.monthrange(year, month)[1]
        total += rate * area_m2 * Decimal(days) / Decimal(in_month)
    return total


def bill_amount(
    *,
    area_m2: Decimal,
    rates: Sequence[Rate],
    period: Period,
    stays: Iterable[tuple[date, date | None]],
    currency: str,
) -> int:
    """The bill in minor units, rounded once."""
    return to_minor(period_fee(area_m2=area_m2, rates=rates, period=period, stays=stays), currency)


def split_instalments(total: int, count: int) -> list[int]:
    """``count`` instalments in whole minor units summing to ``total``; the rest on the last."""
    if count < 1 or count > 60:
        raise FeeError("an instalment plan has 1 to 60 instalments")
    if total < count:
        raise FeeError("each instalment must be at least one minor unit")
    share = total // count
    return [share] * (count - 1) + [total - share * (count - 1)]


def instalment_dates(first: date, count: int, every_months: int) -> list[date]:
    return [add_months(first, i * every_months) for i in range(count)]


@dataclass(frozen=True, slots=True)
class LateFeeRule:
    """Simple interest on overdue money, per started month, capped as a share of the bill."""

    rate_per_month: Decimal  # 0.005: half a percent a month
    cap: Decimal  # 0.10: never more than a tenth of the bill in all
    grace_days: int = 0


def months_late(due: date, today: date, grace_days: int) -> int:
    """Started months past the due date and its grace: 0 until then."""
    late = (today - due).days - grace_days
    return 0 if late <= 0 else -(-late // 30)


def late_fee_total(
    *,
    bill: int,
    overdue: Iterable[tuple[int, date]],
    today: date,
    rule: LateFeeRule,
    currency: str,
) -> int:
    """The late fee a bill has earned in all by ``today`` (minor units).

    ``overdue``: each unpaid part of the bill's principal with its due date. The
    fee is worked out on principal only, so it never compounds, and is capped at
    ``rule.cap`` times the bill however long the arrears last.
    """
    exact = Decimal(0)
    for amount, due in overdue:
        exact += Decimal(amount) * rule.rate_per_month * months_late(due, today, rule.grace_days)
    capped = min(exact, Decimal(bill) * rule.cap)
    # The figure is in minor units; to_minor rounds major units, and the shift is exact.
    return to_minor(capped.scaleb(-exponent(currency)), currency)


def late_fee_increment(total_earned: int, already_charged: int) -> int:
    """What to add now: never negative, so a payment never turns into a late fee refund."""
    return max(0, total_earned - already_charged)


@dataclass(frozen=True, slots=True)
class VoteRule:
    """Shares of the building's floor area and of its owners that must vote yes."""

    area: Fraction = Fraction(2, 3)
    headcount: Fraction = Fraction(2, 3)


@dataclass(frozen=True, slots=True)
class VoteResult:
    yes_area_m2: Decimal
    total_area_m2: Decimal
    yes_owners: int
    total_owners: int


@dataclass(frozen=True, slots=True)
class VoteVerdict:
    passed: bool
    reasons: tuple[str, ...]


def judge_vote(result: VoteResult, rule: VoteRule) -> VoteVerdict:
    """Both thresholds must be met, compared exactly (no float, no rounding)."""
    reasons: list[str] = []
    if result.total_area_m2 <= 0 or result.total_owners <= 0:
        return VoteVerdict(False, ("the building has no floor area or no owners to vote",))
    if not (0 <= result.yes_area_m2 <= result.total_area_m2):
        return VoteVerdict(False, ("the yes floor area is outside 0 and the building's area",))
    if not (0 <= result.yes_owners <= result.total_owners):
        return VoteVerdict(False, ("the yes headcount is outside 0 and the number of owners",))
    area_share = Fraction(result.yes_area_m2) / Fraction(result.total_area_m2)
    if area_share < rule.area:
        reasons.append(f"floor area voting yes is {float(area_share):.2%}, below {rule.area}")
    owner_share = Fraction(result.yes_owners, result.total_owners)
    if owner_share < rule.headcount:
        reasons.append(f"owners voting yes are {float(owner_share):.2%}, below {rule.headcount}")
    return VoteVerdict(not reasons, tuple(reasons))


def parse_fraction(text: str) -> Fraction:
    """``2/3`` or ``0.75``: a threshold between 0 (exclusive) and 1 (inclusive)."""
    text = text.strip()
    # Shapes a person writes; a huge exponent ("1e-999999999") would hang Fraction.
    if not re.fullmatch(r"\d{1,6}/\d{1,6}|\d{0,3}(\.\d{1,9})?", text) or not text.strip("."):
        raise FeeError(f"{text!r} is not a fraction such as 2/3")
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise FeeError(f"{text!r} is not a fraction such as 2/3") from None
    if not 0 < value <= 1:
        raise FeeError("a vote threshold is above 0 and at most 1")
    return value
