"""Facility operations: set up, sell passes, decide and record entries, run sessions.

Every function works in the caller's transaction and commits nothing. An entry
refused by a business rule is an answer (``allowed: false`` with a reason),
not an error: the terminal shows it and journals it.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from central.db.schema import accounts, units
from central.errors import InvalidRequest, NotFound, Refused
from central.facilities.tables import entries, facilities, pass_products, passes, sessions
from central.ledger import operations as ops
from central.ledger.operations import Context
from central.ledger.posting import new_transaction_id
from domain import facilities as fac
from domain.facilities import (
    Facility,
    FacilityKind,
    Method,
    OpeningHours,
    PassKind,
    PassProduct,
    PassState,
    PerMinute,
    Pricing,
)
from domain.wallets import Purpose, wallet_code

WALLET = Purpose.SERVICES


def _decimal(value: str | Decimal | None, what: str) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidRequest(f"{what} is not a number: {value!r}", code="invalid_price") from None
    if not number.is_finite() or number < 0:
        raise InvalidRequest(f"{what} must be zero or more", code="invalid_price")
    return number


# -- setting up ------------------------------------------------------------------------


def create_facility(
    conn: Connection,
    *,
    code: str,
    name: str,
    kind: str,
    pricing: str,
    price: str = "0",
    rate_per_minute: str | None = None,
    max_minutes: int | None = None,
    minimum_minutes: int = 1,
    grace_s: int = 0,
    hours: dict[str, list[str]] | None = None,
    allow_low_assurance: bool = True,
    low_assurance_daily_cap: int = 0,
    passback_timeout_s: int = 7200,
    now: datetime,
) -> dict[str, Any]:
    try:
        FacilityKind(kind)
        Pricing(pricing)
        opening = OpeningHours.parse(hours) if hours else OpeningHours.always()
    except ValueError as err:
        raise InvalidRequest(str(err), code="invalid_facility") from err
    if pricing == Pricing.PER_MINUTE and (rate_per_minute is None or not max_minutes):
        raise InvalidRequest(
            "a per-minute facility needs rate_per_minute and max_minutes", code="invalid_facility"
        )
    if conn.execute(select(facilities.c.id).where(facilities.c.code == code)).first():
        raise Refused(f"facility {code!r} exists already", code="facility_exists")
    conn.execute(
        insert(facilities).values(
            code=code,
            name=name,
            kind=kind,
            pricing=pricing,
            price=str(_decimal(price, "price")),
            rate_per_minute=None
            if rate_per_minute is None
            else str(_decimal(rate_per_minute, "rate_per_minute")),
            max_minutes=max_minutes,
            minimum_minutes=minimum_minutes,
            grace_s=grace_s,
            hours=json.dumps(opening.to_spec()),
            allow_low_assurance=allow_low_assurance,
            low_assurance_daily_cap=low_assurance_daily_cap,
            passback_timeout_s=passback_timeout_s,
            created_at=now,
        )
    )
    return describe(conn, code)


def _row(conn: Connection, code: str) -> Any:
    row = conn.execute(select(facilities).where(facilities.c.code == code)).first()
    if row is None:
        raise NotFound(f"there is no facility {code!r}", code="unknown_facility")
    return row


def to_domain(row: Any) -> Facility:
    per_minute = None
    if row.rate_per_minute is not None and row.max_minutes:
        per_minute = PerMinute(
            Decimal(row.rate_per_minute),
            max_minutes=int(row.max_minutes),
            minimum_minutes=int(row.minimum_minutes),
            grace_s=int(row.grace_s),
        )
    return Facility(
        code=row.code,
        name=row.name,
        kind=FacilityKind(row.kind),
        pricing=Pricing(row.pricing),
        hours=OpeningHours.parse(json.loads(row.hours)),
        price=Decimal(row.price),
        per_minute=per_minute,
        allow_low_assurance=bool(row.allow_low_assurance),
        low_assurance_daily_cap=int(row.low_assurance_daily_cap),
        in_service=bool(row.in_service),
    )


def describe(conn: Connection, code: str) -> dict[str, Any]:
    row = _row(conn, code)
    products = conn.execute(
        select(pass_products).where(pass_products.c.facility_id == row.id).order_by("id")
    ).all()
    return {
        "code": row.code,
        "name": row.name,
        "kind": row.kind,
        "pricing": row.pricing,
        "price": row.price,
        "rate_per_minute": row.rate_per_minute,
        "max_minutes": row.max_minutes,
        "minimum_minutes": row.minimum_minutes,
        "grace_s": row.grace_s,
        "hours": json.loads(row.hours),
        "allow_low_assurance": bool(row.allow_low_assurance),
        "low_assurance_daily_cap": row.low_assurance_daily_cap,
        "passback_timeout_s": row.passback_timeout_s,
        "in_service": bool(row.in_service),
        "service": to_domain(row).service,
        "pass_products": [
            {
                "code": p.code,
                "kind": p.kind,
                "price": p.price,
                "months": p.months,
                "visits": p.visits,
                "valid_days": p.valid_days,
            }
            for p in products
        ],
    }


def list_facilities(conn: Connection) -> list[dict[str, Any]]:
    codes = conn.execute(select(facilities.c.code).order_by(facilities.c.code)).scalars().all()
    return [describe(conn, code) for code in codes]


def set_in_service(conn: Connection, code: str, in_service: bool) -> dict[str, Any]:
    _row(conn, code)
    conn.execute(update(facilities).where(facilities.c.code == code).values(in_service=in_service))
    return describe(conn, code)


def add_pass_product(
    conn: Connection,
    *,
    facility: str,
    code: str,
    kind: str,
    price: str,
    months: int = 1,
    visits: int = 0,
    valid_days: int = 365,
    now: datetime,
) -> dict[str, Any]:
    row = _row(conn, facility)
    try:
        product = PassProduct(
            code, PassKind(kind), _decimal(price, "price") or Decimal(0), months, visits, valid_days
        )
        fac.issue_pass(product, date(2026, 1, 1))  # checks months / visits / days
    except ValueError as err:
        raise InvalidRequest(str(err), code="invalid_pass_product") from err
    if conn.execute(select(pass_products.c.id).where(pass_products.c.code == code)).first():
        raise Refused(f"pass product {code!r} exists already", code="pass_product_exists")
    conn.execute(
        insert(pass_products).values(
            facility_id=row.id,
            code=code,
            kind=kind,
            price=str(product.price),
            months=months,
            visits=visits,
            valid_days=valid_days,
            created_at=now,
        )
    )
    return describe(conn, facility)


# -- passes --------------------------------------------------------------------------


def _unit_id(conn: Connection, unit: str) -> int:
    found = conn.execute(select(units.c.id).where(units.c.code == unit)).scalar()
    if found is None:
        raise NotFound(f"there is no unit {unit!r}", code="unknown_unit")
    return int(found)


def buy_pass(
    conn: Connection, ctx: Context, *, unit: str, product: str, start: date | None = None
) -> dict[str, Any]:
    """Charge the pass's price to the services wallet and issue the pass."""
    row = conn.execute(
        select(pass_products, facilities.c.code.label("facility_code"))
        .join(facilities, facilities.c.id == pass_products.c.facility_id)
        .where(pass_products.c.code == product)
    ).first()
    if row is None:
        raise NotFound(f"there is no pass product {product!r}", code="unknown_pass_product")
    facility = to_domain(_row(conn, row.facility_code))
    spec = PassProduct(
        row.code, PassKind(row.kind), Decimal(row.price), row.months, row.visits, row.valid_days
    )
    today = ctx.now.astimezone(ctx.estate.zone).date()
    first_day = start or today
    if not today - timedelta(days=31) <= first_day <= today + timedelta(days=366):
        raise InvalidRequest(
            "a pass starts at most a month back or a year ahead", code="invalid_pass_start"
        )
    try:
        state = fac.issue_pass(spec, first_day)
    except (ValueError, OverflowError) as err:
        raise InvalidRequest(str(err), code="invalid_pass_start") from err
    unit_id = _unit_id(conn, unit)
    charged = ops.charge(
        conn,
        ctx,
        unit=unit,
        purpose=WALLET.value,
        amount=fac.per_use_charge(spec.price, ctx.estate.currency),
        currency=ctx.estate.currency,
        service=facility.service,
        memo=f"{facility.name} pass {spec.code}",
    )
    pass_id = new_transaction_id()
    conn.execute(
        insert(passes).values(
            id=pass_id,
            product_id=row.id,
            facility_id=_row(conn, row.facility_code).id,
            unit_id=unit_id,
            valid_from=state.valid_from.isoformat(),
            valid_until=state.valid_until.isoformat(),
            visits_left=state.visits_left,
            transaction_id=charged["transaction_id"],
            created_at=ctx.now,
        )
    )
    return {
        "pass_id": pass_id,
        "facility": facility.code,
        "product": spec.code,
        "valid_from": state.valid_from.isoformat(),
        "valid_until": state.valid_until.isoformat(),
        "visits_left": state.visits_left,
        "transaction_id": charged["transaction_id"],
        "amount": charged["amount"],
    }


def _best_pass(
    conn: Connection, facility_id: int, unit_id: int, today: date
) -> tuple[str, PassState] | None:
    """A usable pass if there is one (the one ending first), else the latest, else None."""
    rows = conn.execute(
        select(passes.c.id, passes.c.valid_from, passes.c.valid_until, passes.c.visits_left)
        .where(and_(passes.c.facility_id == facility_id, passes.c.unit_id == unit_id))
        .order_by(passes.c.valid_until, passes.c.created_at)
    ).all()
    states = [
        (
            r.id,
            PassState(
                date.fromisoformat(r.valid_from), date.fromisoformat(r.valid_until), r.visits_left
            ),
        )
        for r in rows
    ]
    usable = [(i, s) for i, s in states if fac.pass_refusal(s, today) is None]
    if usable:
        return usable[0]
    return states[-1] if states else None


def _available(conn: Connection, unit: str) -> int:
    row = conn.execute(
        select(accounts.c.balance, accounts.c.held, accounts.c.floor).where(
            accounts.c.code == wallet_code(unit, WALLET)
        )
    ).first()
    if row is None:
        raise NotFound(f"unit {unit} has no services wallet", code="unknown_wallet")
    floor = 0 if row.floor is None else int(row.floor)
    return max(int(row.balance) - int(row.held) - floor, 0)


def _local_midnight_utc(ctx: Context) -> datetime:
    local = ctx.now.astimezone(ctx.estate.zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


# -- entries -------------------------------------------------------------------------


def enter(
    conn: Connection,
    ctx: Context,
    *,
    facility: str,
    unit: str,
    credential: str | None = None,
    low_assurance: bool = False,
) -> dict[str, Any]:
    """Decide an entry and carry it out: a pass visit, a charge, or a session's hold."""
    row = _row(conn, facility)
    spec = to_domain(row)
    unit_id = _unit_id(conn, unit)
    local_now = ctx.now.astimezone(ctx.estate.zone)
    best = _best_pass(conn, row.id, unit_id, local_now.date())
    pass_id, state = best if best else (None, None)
    inside = False
    if pass_id is not None:
        since = ctx.now - timedelta(seconds=int(row.passback_timeout_s))
        inside = (
            conn.execute(
                select(entries.c.id).where(
                    and_(
                        entries.c.pass_id == pass_id,
                        entries.c.exited_at.is_(None),
                        entries.c.entered_at > since,
                    )
                )
            ).first()
            is not None
        )
    spent = 0
    if low_assurance and credential:
        spent = int(
            conn.execute(
                select(func.coalesce(func.sum(entries.c.amount), 0)).where(
                    and_(
                        entries.c.credential == credential,
                        entries.c.low_assurance.is_(True),
                        entries.c.entered_at >= _local_midnight_utc(ctx),
                    )
                )
            ).scalar_one()
        )
    decision = fac.decide_entry(
        spec,
        local_now=local_now.replace(tzinfo=None),
        currency=ctx.estate.currency,
        available=_available(conn, unit),
        pass_state=state,
        low_assurance=low_assurance,
        spent_today_low_assurance=spent,
        inside=inside,
    )
    answer: dict[str, Any] = {
        "facility": facility,
        "unit": unit,
        "allowed": decision.allowed,
        "reason": decision.reason.value if decision.reason else None,
        "message": decision.message,
        "method": decision.method.value if decision.method else None,
        "amount": decision.amount,
    }
    if not decision.allowed:
        return answer
    entry_id = new_transaction_id()
    transaction_id = None
    if decision.method is Method.PASS:
        assert pass_id is not None
        assert state is not None
        conn.execute(
            update(passes)
            .where(passes.c.id == pass_id)
            .values(visits_left=fac.use_visit(state).visits_left)
        )
        answer["pass_id"] = pass_id
    elif decision.method is Method.CHARGE:
        charged = ops.charge(
            conn,
            ctx,
            unit=unit,
            purpose=WALLET.value,
            amount=decision.amount,
            currency=ctx.estate.currency,
            service=spec.service,
            memo=f"{spec.name} entry",
        )
        transaction_id = charged["transaction_id"]
        answer["transaction_id"] = transaction_id
    else:
        answer.update(
            _start_session(
                conn, ctx, row=row, spec=spec, unit=unit, unit_id=unit_id, amount=decision.amount
            )
        )
    conn.execute(
        insert(entries).values(
            id=entry_id,
            facility_id=row.id,
            unit_id=unit_id,
            method=decision.method.value if decision.method else "charge",
            pass_id=pass_id if decision.method is Method.PASS else None,
            transaction_id=transaction_id,
            amount=decision.amount,
            credential=credential,
            low_assurance=low_assurance,
            terminal_id=ctx.terminal_id,
            entered_at=ctx.now,
        )
    )
    answer["entry_id"] = entry_id
    return answer


def leave(conn: Connection, ctx: Context, *, facility: str, unit: str) -> dict[str, Any]:
    """An exit: clears the anti-passback state of the unit's open entries here."""
    row = _row(conn, facility)
    unit_id = _unit_id(conn, unit)
    result = conn.execute(
        update(entries)
        .where(
            and_(
                entries.c.facility_id == row.id,
                entries.c.unit_id == unit_id,
                entries.c.exited_at.is_(None),
            )
        )
        .values(exited_at=ctx.now)
    )
    return {"facility": facility, "unit": unit, "exits": result.rowcount}


# -- per-minute sessions ----------------------------------------------------------------


def _start_session(
    conn: Connection,
    ctx: Context,
    *,
    row: Any,
    spec: Facility,
    unit: str,
    unit_id: int,
    amount: int,
) -> dict[str, Any]:
    held = ops.place_hold(
        conn,
        ctx,
        unit=unit,
        purpose=WALLET.value,
        amount=amount,
        currency=ctx.estate.currency,
        service=spec.service,
    )
    session_id = new_transaction_id()
    conn.execute(
        insert(sessions).values(
            id=session_id,
            facility_id=row.id,
            unit_id=unit_id,
            hold_id=held["hold_id"],
            started_at=ctx.now,
            terminal_id=ctx.terminal_id,
        )
    )
    return {"session_id": session_id, "hold_id": held["hold_id"], "held": amount}


def stop_session(conn: Connection, ctx: Context, *, session_id: str) -> dict[str, Any]:
    """Capture the minutes used (at most the hold) and release the rest."""
    row = conn.execute(
        select(sessions, facilities.c.code.label("facility_code"))
        .join(facilities, facilities.c.id == sessions.c.facility_id)
        .where(sessions.c.id == session_id)
    ).first()
    if row is None:
        raise NotFound(f"there is no session {session_id!r}", code="unknown_session")
    if row.status != "running":
        raise Refused(f"session {session_id} is already stopped", code="session_stopped")
    spec = to_domain(_row(conn, row.facility_code))
    if spec.per_minute is None:
        raise Refused(f"{spec.code} is not priced per minute", code="not_per_minute")
    minutes, amount = fac.per_minute_charge(
        spec.per_minute, ctx.estate.currency, row.started_at, ctx.now
    )
    if amount > 0:
        result = ops.capture_hold(
            conn, ctx, hold_id=row.hold_id, amount=amount, currency=ctx.estate.currency
        )
    else:
        result = ops.release_hold(conn, ctx, hold_id=row.hold_id)
    conn.execute(
        update(sessions)
        .where(sessions.c.id == session_id)
        .values(status="stopped", stopped_at=ctx.now, minutes=minutes, amount=amount)
    )
    return {
        "session_id": session_id,
        "facility": spec.code,
        "minutes": minutes,
        "amount": amount,
        "transaction_id": result.get("transaction_id"),
        "released": result.get("released"),
    }


# -- for the terminal journal and snapshot (issue 6) --------------------------------------


def record_pass_use(conn: Connection, ctx: Context, *, facility: str, unit: str) -> dict[str, Any]:
    """A turnstile's journalled ``pass_use``: the visit it already let through.

    The terminal decided (perhaps offline) and the person is inside; the server
    records the visit and counts it down on the pass that was usable then. A
    visit the server cannot match to a usable pass is recorded all the same and
    flagged ``unmatched`` for the manager: the gate opened, so it happened.
    """
    row = _row(conn, facility)
    unit_id = _unit_id(conn, unit)
    day = ctx.now.astimezone(ctx.estate.zone).date()
    best = _best_pass(conn, row.id, unit_id, day)
    usable = best is not None and fac.pass_refusal(best[1], day) is None
    pass_id = best[0] if best and usable else None
    if best is not None and usable:
        conn.execute(
            update(passes)
            .where(passes.c.id == best[0])
            .values(visits_left=fac.use_visit(best[1]).visits_left)
        )
    entry_id = new_transaction_id()
    conn.execute(
        insert(entries).values(
            id=entry_id,
            facility_id=row.id,
            unit_id=unit_id,
            method="pass",
            pass_id=pass_id,
            amount=0,
            terminal_id=ctx.terminal_id,
            entered_at=ctx.now,
        )
    )
    return {"entry_id": entry_id, "pass_id": pass_id, "unmatched": pass_id is None}


def snapshot_passes(conn: Connection, *, today: date) -> dict[str, dict[str, dict[str, Any]]]:
    """``{unit: {facility: {valid_from, valid_until, visits_left}}}``: each unit's usable
    pass per facility (the one ending first), for the terminals' snapshot."""
    rows = conn.execute(
        select(
            units.c.code.label("unit"),
            facilities.c.code.label("facility"),
            passes.c.valid_from,
            passes.c.valid_until,
            passes.c.visits_left,
        )
        .join(units, units.c.id == passes.c.unit_id)
        .join(facilities, facilities.c.id == passes.c.facility_id)
        .where(passes.c.valid_until >= today.isoformat())
        .order_by(passes.c.valid_until, passes.c.created_at)
    ).all()
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        state = PassState(
            date.fromisoformat(r.valid_from), date.fromisoformat(r.valid_until), r.visits_left
        )
        if fac.pass_refusal(state, today) is not None:
            continue
        found.setdefault(r.unit, {}).setdefault(
            r.facility,
            {
                "valid_from": r.valid_from,
                "valid_until": r.valid_until,
                "visits_left": r.visits_left,
            },
        )
    return found
