"""Fee policy, fee schedules and billing runs.

A billing run makes one bill per unit that was occupied during the period,
for the days it was occupied (the union of its residents' stays), at the
schedule in force on each day. Running a period twice bills nobody twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select, update

from central.db.schema import buildings, residents, units
from central.errors import InvalidRequest, Refused
from central.fees.tables import bills, fee_runs, fee_schedules, fee_settings
from domain.fees import (
    UNIT_KINDS,
    FeeError,
    LateFeeRule,
    Period,
    Rate,
    VoteRule,
    bill_amount,
    parse_fraction,
)

PROPERTY_FEE = "property_fee"
FUND_CONTRIBUTION = "fund_contribution"
# A price per m2, a floor area: far above any real one, and small enough that a
# product of two stays an exact Decimal and a ledger amount.
MAX_FIGURE = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class FeePolicy:
    """How the estate bills: due dates, reminders, late fees (off unless set), votes."""

    due_days: int = 30
    remind_days_before: int = 7
    remind_days_after: int = 7
    late_fee: LateFeeRule | None = None
    vote: VoteRule = field(default_factory=VoteRule)

    def as_dict(self) -> dict[str, Any]:
        return {
            "due_days": self.due_days,
            "remind_days_before": self.remind_days_before,
            "remind_days_after": self.remind_days_after,
            "late_fee_rate_per_month": None
            if self.late_fee is None
            else str(self.late_fee.rate_per_month),
            "late_fee_cap": None if self.late_fee is None else str(self.late_fee.cap),
            "late_fee_grace_days": 0 if self.late_fee is None else self.late_fee.grace_days,
            "vote_area": str(self.vote.area),
            "vote_headcount": str(self.vote.headcount),
        }


def decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise InvalidRequest(f"{what} must be a decimal number, not {text!r}") from None
    if not value.is_finite() or not 0 <= value <= MAX_FIGURE:
        raise InvalidRequest(f"{what} must be a number from 0 to {MAX_FIGURE}")
    return value


def load_policy(conn: Connection) -> FeePolicy:
    row = conn.execute(select(fee_settings)).first()
    if row is None:
        return FeePolicy()
    late = None
    if row.late_fee_rate is not None and row.late_fee_cap is not None:
        late = LateFeeRule(
            Decimal(row.late_fee_rate), Decimal(row.late_fee_cap), row.late_fee_grace_days
        )
    return FeePolicy(
        due_days=row.due_days,
        remind_days_before=row.remind_days_before,
        remind_days_after=row.remind_days_after,
        late_fee=late,
        vote=VoteRule(Fraction(row.vote_area), Fraction(row.vote_headcount)),
    )


def save_policy(conn: Connection, request: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Replace the policy; a late fee needs both a monthly rate and a cap."""
    rate, cap = request.get("late_fee_rate_per_month"), request.get("late_fee_cap")
    if (rate is None) != (cap is None):
        raise InvalidRequest(
            "a late fee needs both a monthly rate and a cap (or neither: no late fees)",
            code="late_fee_needs_cap",
        )
    if (
        rate is not None
        and cap is not None
        and (decimal(rate, "the late fee rate") > 1 or decimal(cap, "the late fee cap") > 1)
    ):
        raise InvalidRequest("late fee rate and cap are shares of the bill, at most 1")
    try:
        area = parse_fraction(str(request.get("vote_area", "2/3")))
        headcount = parse_fraction(str(request.get("vote_headcount", "2/3")))
    except FeeError as err:
        raise InvalidRequest(str(err), code="invalid_threshold") from err
    days = {
        name: int(request.get(name, default))
        for name, default in (
            ("due_days", 30),
            ("remind_days_before", 7),
            ("remind_days_after", 7),
            ("late_fee_grace_days", 0),
        )
    }
    for name, value in days.items():
        if not 0 <= value <= 366:
            raise InvalidRequest(f"{name} is a number of days from 0 to 366")
    values = {
        **days,
        "late_fee_rate": None if rate is None else str(Decimal(str(rate))),
        "late_fee_cap": None if cap is None else str(Decimal(str(cap))),
        "vote_area": str(area),
        "vote_headcount": str(headcount),
        "updated_at": now,
    }
    if conn.execute(select(fee_settings.c.id)).first() is None:
        conn.execute(insert(fee_settings).values(id=1, **values))
    else:
        conn.execute(update(fee_settings).where(fee_settings.c.id == 1).values(**values))
    return load_policy(conn).as_dict()


def add_schedule(
    conn: Connection,
    *,
    unit_kind: str,
    per_m2_month: str,
    effective_from: date,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    if unit_kind not in UNIT_KINDS:
        raise InvalidRequest(f"unit kind must be one of {UNIT_KINDS}", code="invalid_unit_kind")
    price = decimal(per_m2_month, "the price per m2 per month")
    exists = conn.execute(
        select(fee_schedules.c.id).where(
            fee_schedules.c.unit_kind == unit_kind,
            fee_schedules.c.effective_from == effective_from,
        )
    ).first()
    if exists is not None:
        raise Refused(
            f"a {unit_kind} price already takes effect on {effective_from}: add a later one",
            code="schedule_exists",
        )
    schedule_id = conn.execute(
        insert(fee_schedules)
        .values(
            unit_kind=unit_kind,
            per_m2_month=str(price),
            effective_from=effective_from,
            created_at=now,
            created_by=actor,
        )
        .returning(fee_schedules.c.id)
    ).scalar_one()
    return {
        "schedule_id": schedule_id,
        "unit_kind": unit_kind,
        "per_m2_month": str(price),
        "effective_from": effective_from.isoformat(),
    }


def schedules(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(fee_schedules).order_by(fee_schedules.c.unit_kind, fee_schedules.c.effective_from)
    ).all()
    return [
        {
            "schedule_id": r.id,
            "unit_kind": r.unit_kind,
            "per_m2_month": r.per_m2_month,
            "effective_from": r.effective_from.isoformat(),
        }
        for r in rows
    ]


def rates_by_kind(conn: Connection) -> dict[str, list[Rate]]:
    found: dict[str, list[Rate]] = {}
    for row in conn.execute(select(fee_schedules)).all():
        found.setdefault(row.unit_kind, []).append(
            Rate(row.effective_from, Decimal(row.per_m2_month))
        )
    return found


def stays_by_unit(conn: Connection, zone: ZoneInfo) -> dict[int, list[tuple[date, date | None]]]:
    """Each unit's residents' stays as local dates (moved in, moved out)."""
    stays: dict[int, list[tuple[date, date | None]]] = {}
    rows = conn.execute(
        select(residents.c.unit_id, residents.c.moved_in_at, residents.c.moved_out_at)
    ).all()
    for row in rows:
        out = None if row.moved_out_at is None else row.moved_out_at.astimezone(zone).date()
        stays.setdefault(row.unit_id, []).append((row.moved_in_at.astimezone(zone).date(), out))
    return stays


def run_billing(
    conn: Connection,
    *,
    period: str,
    due_on: date | None,
    actor: str,
    now: datetime,
    zone: ZoneInfo,
    currency: str,
) -> dict[str, Any]:
    """One property-fee bill per unit occupied in ``period``; units already billed are kept."""
    try:
        span = Period.parse(period)
    except FeeError as err:
        raise InvalidRequest(str(err), code="invalid_period") from err
    policy = load_policy(conn)
    due = due_on or (now.astimezone(zone).date() + timedelta(days=policy.due_days))
    rates = rates_by_kind(conn)
    stays = stays_by_unit(conn, zone)
    already = {
        row.unit_id
        for row in conn.execute(
            select(bills.c.unit_id).where(bills.c.kind == PROPERTY_FEE, bills.c.period == span.name)
        )
    }
    plan: list[tuple[int, str, int]] = []
    unoccupied = 0
    for unit in conn.execute(
        select(units.c.id, units.c.code, units.c.kind, units.c.area_m2).order_by(units.c.code)
    ).all():
        if unit.id in already:
            continue
        try:
            amount = bill_amount(
                area_m2=Decimal(unit.area_m2),
                rates=rates.get(unit.kind, []),
                period=span,
                stays=stays.get(unit.id, []),
                currency=currency,
            )
        except FeeError as err:
            raise Refused(
                f"cannot bill {unit.code} ({unit.kind}): {err}", code="no_fee_schedule"
            ) from err
        if amount <= 0:
            unoccupied += 1
            continue
        plan.append((unit.id, unit.code, amount))
    run_id = conn.execute(
        insert(fee_runs)
        .values(
            kind=PROPERTY_FEE,
            period=span.name,
            created_at=now,
            created_by=actor,
            bills=len(plan),
            total=sum(amount for _, _, amount in plan),
        )
        .returning(fee_runs.c.id)
    ).scalar_one()
    if plan:
        conn.execute(
            insert(bills),
            [
                {
                    "unit_id": unit_id,
                    "kind": PROPERTY_FEE,
                    "period": span.name,
                    "period_start": span.start,
                    "period_end": span.end,
                    "run_id": run_id,
                    "amount": amount,
                    "due_on": due,
                    "issued_at": now,
                    "memo": f"property fee {span.name}",
                }
                for unit_id, _, amount in plan
            ],
        )
    return {
        "run_id": run_id,
        "period": span.name,
        "from": span.start.isoformat(),
        "to": (span.end - timedelta(days=1)).isoformat(),
        "due_on": due.isoformat(),
        "bills": len(plan),
        "total": sum(amount for _, _, amount in plan),
        "already_billed": len(already),
        "unoccupied": unoccupied,
    }


def building_of_unit(conn: Connection, unit_id: int) -> tuple[int, str]:
    row = conn.execute(
        select(buildings.c.id, buildings.c.code)
        .join(units, units.c.building_id == buildings.c.id)
        .where(units.c.id == unit_id)
    ).one()
    return int(row.id), str(row.code)
