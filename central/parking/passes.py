"""Plates and passes: the unit a plate belongs to, passes bought from the parking wallet,
and the pass a car may enter on."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, insert, or_, select

from central.db.schema import credentials, units
from central.errors import InvalidRequest, NotFound, Refused
from central.estate.registry import normalise_credential
from central.ledger import operations as ops
from central.ledger.operations import Context
from central.ledger.posting import new_transaction_id
from central.parking.payments import SERVICE, WALLET
from central.parking.tables import parking_passes, parking_sessions
from domain import parking as dp
from domain.parking import PassPeriod


def _unit_id(conn: Connection, unit: str) -> int:
    found = conn.execute(select(units.c.id).where(units.c.code == unit)).scalar()
    if found is None:
        raise NotFound(f"there is no unit {unit!r}", code="unknown_unit")
    return int(found)


def plate_key(plate: str) -> str:
    return normalise_credential("plate", plate)


def unit_of_plate(conn: Connection, plate: str) -> tuple[int, str] | None:
    """The unit an active plate credential belongs to."""
    row = conn.execute(
        select(units.c.id, units.c.code)
        .join(credentials, credentials.c.unit_id == units.c.id)
        .where(
            credentials.c.kind == "plate",
            credentials.c.value == plate,
            credentials.c.status == "active",
        )
    ).first()
    return None if row is None else (int(row.id), str(row.code))


def buy_pass(
    conn: Connection,
    ctx: Context,
    *,
    unit: str,
    period: str,
    price: int,
    plate: str | None = None,
    start: date | None = None,
    auto_renew: bool = True,
) -> dict[str, Any]:
    """Charge the first period to the unit's parking wallet and issue the pass."""
    unit_id = _unit_id(conn, unit)
    try:
        term = PassPeriod(period)
    except ValueError:
        raise InvalidRequest(f"no pass period {period!r}", code="invalid_pass") from None
    key = None
    if plate is not None:
        key = plate_key(plate)
        owner = unit_of_plate(conn, key)
        if owner is None or owner[0] != unit_id:
            raise Refused(f"plate {key} is not registered to {unit}", code="plate_not_registered")
    first, last = dp.pass_term(start or ctx.now.astimezone(ctx.estate.zone).date(), term)
    pass_id = new_transaction_id()
    transaction_id = None
    if price > 0:
        charged = ops.charge(
            conn,
            ctx,
            unit=unit,
            purpose=WALLET,
            amount=price,
            currency=ctx.estate.currency,
            service=SERVICE,
            memo=f"parking pass {term.value} {first.isoformat()}",
        )
        transaction_id = charged["transaction_id"]
    conn.execute(
        insert(parking_passes).values(
            id=pass_id,
            unit_id=unit_id,
            plate=key,
            period=term.value,
            price=price,
            valid_from=first.isoformat(),
            valid_until=last.isoformat(),
            auto_renew=auto_renew,
            status="active",
            created_at=ctx.now,
        )
    )
    return {
        "pass_id": pass_id,
        "unit": unit,
        "plate": key,
        "period": term.value,
        "price": price,
        "valid_from": first.isoformat(),
        "valid_until": last.isoformat(),
        "auto_renew": auto_renew,
        "transaction_id": transaction_id,
    }


def list_passes(conn: Connection, unit: str | None = None) -> list[dict[str, Any]]:
    query = select(parking_passes, units.c.code.label("unit")).join(
        units, units.c.id == parking_passes.c.unit_id
    )
    if unit is not None:
        query = query.where(units.c.code == unit)
    rows = conn.execute(query.order_by(parking_passes.c.created_at)).all()
    return [
        {
            "pass_id": r.id,
            "unit": r.unit,
            "plate": r.plate,
            "period": r.period,
            "price": r.price,
            "valid_from": r.valid_from,
            "valid_until": r.valid_until,
            "auto_renew": bool(r.auto_renew),
            "status": r.status,
        }
        for r in rows
    ]


def usable_pass(conn: Connection, unit_id: int, plate: str, day: date) -> str | None:
    """A valid pass covering this plate and held by no car inside (anti-passback)."""
    rows = conn.execute(
        select(parking_passes.c.id, parking_passes.c.valid_from, parking_passes.c.valid_until)
        .where(
            parking_passes.c.unit_id == unit_id,
            parking_passes.c.status == "active",
            or_(parking_passes.c.plate.is_(None), parking_passes.c.plate == plate),
        )
        .order_by(parking_passes.c.plate.desc(), parking_passes.c.valid_until)
    ).all()
    for r in rows:
        if not dp.pass_valid(
            date.fromisoformat(r.valid_from), date.fromisoformat(r.valid_until), day
        ):
            continue
        inside = conn.execute(
            select(parking_sessions.c.id).where(
                parking_sessions.c.pass_id == r.id, parking_sessions.c.status == "inside"
            )
        ).first()
        if inside is None:
            return str(r.id)
    return None
