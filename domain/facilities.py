"""Facilities (gym, pool, laundry, club rooms): opening hours, prices, passes. Pure.

The server and a turnstile decide an entry with the same functions, so a
turnstile that is offline admits and prices exactly as the server would.

- Per use: a fixed price each time the turnstile turns.
- Per minute (a laundry machine, a club room): a hold of ``max_minutes``
  worth when it starts, captured for the minutes used when it stops. Minutes
  are counted per started minute after ``grace_s`` seconds, at least
  ``minimum_minutes``, and never more than the hold.
- Passes: monthly (valid from a day through the day before the same date
  ``months`` later, or the month's last day when that date does not exist) or
  by visits (``visits`` entries within ``valid_days``).

All prices are Decimal in major units; :func:`domain.money.to_minor` turns each
charge into minor units once.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from domain.money import to_minor


class FacilityKind(StrEnum):
    GYM = "gym"
    POOL = "pool"
    LAUNDRY = "laundry"
    CLUB_ROOM = "club_room"


class Pricing(StrEnum):
    PER_USE = "per_use"
    PER_MINUTE = "per_minute"
    PASS_ONLY = "pass_only"  # members only: no pay-as-you-go


class PassKind(StrEnum):
    MONTHLY = "monthly"
    VISITS = "visits"


class Refusal(StrEnum):
    """Why an entry is refused: shown to the person, journalled, counted."""

    CLOSED_NOW = "closed_now"
    NO_MONEY = "no_money"
    PASS_EXPIRED = "pass_expired"
    NO_VISITS_LEFT = "no_visits_left"
    PASS_REQUIRED = "pass_required"
    CARD_REVOKED = "card_revoked"
    QR_INVALID = "qr_invalid"  # forged, expired or replayed
    LOW_ASSURANCE_OVER_CAP = "low_assurance_over_cap"
    LOW_ASSURANCE_NOT_ALLOWED = "low_assurance_not_allowed"
    ANTI_PASSBACK = "anti_passback"
    FACILITY_CLOSED = "facility_closed"  # taken out of service by the manager


REFUSAL_TEXT: dict[Refusal, str] = {
    Refusal.CLOSED_NOW: "Closed now: see the opening hours",
    Refusal.NO_MONEY: "Not enough money in the services wallet: please top up",
    Refusal.PASS_EXPIRED: "Your pass has expired",
    Refusal.NO_VISITS_LEFT: "No visits left on your pass",
    Refusal.PASS_REQUIRED: "Members only: a pass is needed",
    Refusal.CARD_REVOKED: "This card is blocked: please contact the management office",
    Refusal.QR_INVALID: "This QR code is not valid now: refresh it in the app",
    Refusal.LOW_ASSURANCE_OVER_CAP: "This card's daily limit is reached: use your QR code",
    Refusal.LOW_ASSURANCE_NOT_ALLOWED: "This card is not accepted here: use your QR code",
    Refusal.ANTI_PASSBACK: "Already inside: one entry per pass until you leave",
    Refusal.FACILITY_CLOSED: "Out of service",
}


# -- opening hours -------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Open from ``start`` to ``end`` local time; ``end <= start`` runs past midnight."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Window:
        """``"06:00-22:00"``; ``"00:00-00:00"`` is all day."""
        start, _, end = text.partition("-")
        return cls(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class OpeningHours:
    """Windows per weekday (0 = Monday); a weekday with none is closed."""

    week: tuple[tuple[Window, ...], ...]

    @classmethod
    def always(cls) -> OpeningHours:
        all_day = (Window(time(0), time(0)),)
        return cls(tuple(all_day for _ in range(7)))

    @classmethod
    def parse(cls, spec: dict[str, list[str]]) -> OpeningHours:
        """``{"mon-fri": ["06:00-22:00"], "sat,sun": ["08:00-20:00"]}``."""
        names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        week: list[list[Window]] = [[] for _ in range(7)]
        for days, windows in spec.items():
            for part in days.lower().split(","):
                first, _, last = part.strip().partition("-")
                if first not in names or (last and last not in names):
                    raise ValueError(f"unknown weekday in {days!r}")
                a, b = names.index(first), names.index(last or first)
                span = range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)]
                for day in span:
                    week[day] += [Window.parse(w) for w in windows]
        return cls(tuple(tuple(w) for w in week))

    def to_spec(self) -> dict[str, list[str]]:
        names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        return {names[d]: [str(w) for w in ws] for d, ws in enumerate(self.week) if ws}

    def is_open(self, local: datetime) -> bool:
        """Open at this local wall-clock time? A window past midnight belongs to
        the day it starts on."""
        now = local.time()
        today, yesterday = local.weekday(), (local.weekday() - 1) % 7
        for window in self.week[today]:
            if window.end <= window.start:  # past midnight (or all day)
                if now >= window.start:
                    return True
            elif window.start <= now < window.end:
                return True
        return any(w.end <= w.start and now < w.end for w in self.week[yesterday])


# -- prices --------------------------------------------------------------------------


@dataclass(frozen=True)
class PerMinute:
    rate: Decimal  # major units per minute
    max_minutes: int  # what the hold covers; the machine stops there
    minimum_minutes: int = 1
    grace_s: int = 0  # seconds free at the start (a wrong button pressed)


def per_use_charge(price: Decimal, currency: str) -> int:
    return to_minor(price, currency)


def hold_amount(pricing: PerMinute, currency: str) -> int:
    """What to reserve when a per-minute session starts: ``max_minutes`` of use."""
    return to_minor(pricing.rate * pricing.max_minutes, currency)


def minutes_used(pricing: PerMinute, started: datetime, stopped: datetime) -> int:
    """Started minutes after the grace period, at least the minimum, at most the maximum."""
    seconds = max((stopped - started).total_seconds() - pricing.grace_s, 0.0)
    minutes = max(math.ceil(seconds / 60), pricing.minimum_minutes)
    return min(minutes, pricing.max_minutes)


def per_minute_charge(
    pricing: PerMinute, currency: str, started: datetime, stopped: datetime
) -> tuple[int, int]:
    """``(minutes, amount)`` to capture when the session stops; never above the hold."""
    minutes = minutes_used(pricing, started, stopped)
    amount = to_minor(pricing.rate * minutes, currency)
    return minutes, min(amount, hold_amount(pricing, currency))


# -- passes --------------------------------------------------------------------------


@dataclass(frozen=True)
class PassProduct:
    code: str
    kind: PassKind
    price: Decimal
    months: int = 1  # MONTHLY
    visits: int = 0  # VISITS
    valid_days: int = 365  # VISITS: how long the visits last


@dataclass(frozen=True)
class PassState:
    valid_from: date
    valid_until: date  # inclusive
    visits_left: int | None  # None: unlimited (monthly)


def add_months(day: date, months: int) -> date:
    """The same date ``months`` later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def issue_pass(product: PassProduct, start: date) -> PassState:
    if product.kind is PassKind.MONTHLY:
        if product.months < 1:
            raise ValueError("a monthly pass lasts at least one month")
        end = add_months(start, product.months)
        # 31 Jan + 1 month: 31 Feb does not exist, so the pass runs to the end of February.
        until = end if end.day < start.day else end - timedelta(days=1)
        return PassState(start, until, None)
    if product.visits < 1 or product.valid_days < 1:
        raise ValueError("a visits pass has at least one visit and one day")
    return PassState(start, start + timedelta(days=product.valid_days - 1), product.visits)


def pass_refusal(state: PassState, today: date) -> Refusal | None:
    if not state.valid_from <= today <= state.valid_until:
        return Refusal.PASS_EXPIRED
    if state.visits_left is not None and state.visits_left < 1:
        return Refusal.NO_VISITS_LEFT
    return None


def use_visit(state: PassState) -> PassState:
    if state.visits_left is None:
        return state
    if state.visits_left < 1:
        raise ValueError("no visits left")
    return replace(state, visits_left=state.visits_left - 1)


# -- the decision ----------------------------------------------------------------------


@dataclass(frozen=True)
class Facility:
    code: str
    name: str
    kind: FacilityKind
    pricing: Pricing
    hours: OpeningHours
    price: Decimal = Decimal(0)  # PER_USE
    per_minute: PerMinute | None = None  # PER_MINUTE
    allow_low_assurance: bool = True
    low_assurance_daily_cap: int = 0  # minor units a UID-only card may spend a day; 0: no cap
    in_service: bool = True

    @property
    def service(self) -> str:
        """The revenue account's service name: ``facility.gym-1``."""
        return f"facility.{self.code}"


class Method(StrEnum):
    PASS = "pass"
    CHARGE = "charge"  # per use, charged on passage
    HOLD = "hold"  # per minute: a hold now, captured at the stop


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: Refusal | None = None
    method: Method | None = None
    amount: int = 0  # minor units: the charge, or the hold

    @property
    def message(self) -> str:
        return REFUSAL_TEXT[self.reason] if self.reason else "Welcome"


def refuse(reason: Refusal) -> Decision:
    return Decision(False, reason)


def decide_entry(
    facility: Facility,
    *,
    local_now: datetime,
    currency: str,
    available: int,
    pass_state: PassState | None = None,
    revoked: bool = False,
    low_assurance: bool = False,
    spent_today_low_assurance: int = 0,
    inside: bool = False,
) -> Decision:
    """May this person go in now, and how do they pay?

    ``available`` is the services wallet's money that may be spent (balance
    minus holds, above its floor; offline: the snapshot's figure minus what was
    spent offline). ``inside`` is the anti-passback state of this pass: an entry
    not yet followed by an exit or its timeout.
    """
    if revoked:
        return refuse(Refusal.CARD_REVOKED)
    if not facility.in_service:
        return refuse(Refusal.FACILITY_CLOSED)
    if not facility.hours.is_open(local_now):
        return refuse(Refusal.CLOSED_NOW)
    if low_assurance and not facility.allow_low_assurance:
        return refuse(Refusal.LOW_ASSURANCE_NOT_ALLOWED)
    if pass_state is not None:
        reason = pass_refusal(pass_state, local_now.date())
        if reason is None:
            if inside:
                return refuse(Refusal.ANTI_PASSBACK)
            return Decision(True, method=Method.PASS)
        if facility.pricing is Pricing.PASS_ONLY:
            return refuse(reason)
    if facility.pricing is Pricing.PASS_ONLY:
        return refuse(Refusal.PASS_REQUIRED)
    if facility.pricing is Pricing.PER_MINUTE:
        if facility.per_minute is None:
            raise ValueError(f"facility {facility.code} is per minute without a rate")
        amount, method = hold_amount(facility.per_minute, currency), Method.HOLD
    else:
        amount, method = per_use_charge(facility.price, currency), Method.CHARGE
    cap = facility.low_assurance_daily_cap
    if low_assurance and cap and spent_today_low_assurance + amount > cap:
        return refuse(Refusal.LOW_ASSURANCE_OVER_CAP)
    if amount > available:
        return refuse(Refusal.NO_MONEY)
    return Decision(True, method=method, amount=amount)
