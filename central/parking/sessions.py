"""Parking sessions as stored: the car inside with a plate, the time a gate reports, the
cars inside now."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from central.db.schema import units
from central.errors import InvalidRequest
from central.ledger.operations import Context
from central.parking.tables import parking_sessions

# A gate may report a car up to this long after the fact (a long outage), and its
# clock may run a little ahead of the server's.
MAX_REPORT_AGE = timedelta(days=30)
MAX_CLOCK_AHEAD = timedelta(minutes=10)


def moment_of(ctx: Context, at: datetime | None) -> datetime:
    if at is None:
        return ctx.now
    if at.tzinfo is None:
        raise InvalidRequest("a time needs a zone", code="invalid_time")
    if at > ctx.now + MAX_CLOCK_AHEAD or at < ctx.now - MAX_REPORT_AGE:
        raise InvalidRequest("the time is too far from the server's", code="invalid_time")
    return at


def car_inside(conn: Connection, plate: str) -> Any:
    return conn.execute(
        select(parking_sessions)
        .where(parking_sessions.c.plate == plate, parking_sessions.c.status == "inside")
        .order_by(parking_sessions.c.entered_at.desc())
        .limit(1)
    ).first()


def unit_code_of(conn: Connection, unit_id: int | None) -> str | None:
    if unit_id is None:
        return None
    return conn.execute(select(units.c.code).where(units.c.id == unit_id)).scalar()


def cars_inside(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(parking_sessions)
        .where(parking_sessions.c.status == "inside")
        .order_by(parking_sessions.c.entered_at)
    ).all()
    return [
        {
            "session_id": r.id,
            "plate": r.plate,
            "kind": r.kind,
            "pass_id": r.pass_id,
            "entered_at": r.entered_at.isoformat(),
            "entry_lane": r.entry_lane,
        }
        for r in rows
    ]
