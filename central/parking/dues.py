"""What a stay owes before it ends: its price at a moment, a visitor's quote, paying ahead."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from central.errors import InvalidRequest, NotFound, Refused
from central.ledger.operations import Context
from central.parking.passes import plate_key
from central.parking.payments import visitor_payment
from central.parking.rules import rules
from central.parking.sessions import car_inside, moment_of
from central.parking.tables import parking_passes, parking_sessions
from central.parking.tariffs import current_tariff, tariff_by_version
from domain import parking as dp
from domain.parking import ParkingTariff, Rule, Situation, TariffError, TariffKind


def _pass_ends(conn: Connection, ctx: Context, pass_id: str) -> datetime:
    until = conn.execute(
        select(parking_passes.c.valid_until).where(parking_passes.c.id == pass_id)
    ).scalar_one()
    day_after = date.fromisoformat(until) + timedelta(days=1)
    return datetime.combine(day_after, time(0), tzinfo=ctx.estate.zone)


def session_due(
    conn: Connection,
    ctx: Context,
    session: Any,
    tariff: ParkingTariff,
    moment: datetime,
    rule_book: dict[Situation, Rule],
) -> tuple[int, bool]:
    """What a stay owes at ``moment``, and whether it goes to a manager."""
    zone = ctx.estate.zone
    try:
        if session.kind == "pass":
            return dp.due_after_pass(
                tariff,
                session.entered_at,
                _pass_ends(conn, ctx, session.pass_id),
                moment,
                zone,
                rule_book[Situation.PASS_EXPIRED_MID_STAY],
            )
        return dp.due_at_exit(
            tariff, session.entered_at, session.paid_at, moment, zone
        ).amount, False
    except TariffError as err:
        raise InvalidRequest(str(err), code="invalid_time") from err


def prepay(
    conn: Connection,
    ctx: Context,
    *,
    plate: str,
    amount: int,
    tariff_version: str,
    provider: str = "sandbox",
    at: datetime | None = None,
) -> dict[str, Any]:
    """A visitor pays in advance (a kiosk, the phone) what ``quote`` said, by the provider.

    The grace period then runs from the payment: leaving within it costs nothing
    more at the exit. A price that changed since the quote is refused: quote again.
    """
    key = plate_key(plate)
    moment = moment_of(ctx, at)
    session = car_inside(conn, key)
    if session is None:
        raise NotFound(f"no car with plate {key} is inside", code="not_inside")
    kind = TariffKind.VISITOR if session.kind == "visitor" else TariffKind.RESIDENT
    recorded_kind, tariff = tariff_by_version(conn, tariff_version)
    current = current_tariff(conn, kind, moment)
    if recorded_kind is not kind or current.version != tariff.version:
        raise Refused("the tariff changed since the quote: quote again", code="stale_quote")
    due, _ = session_due(conn, ctx, session, tariff, moment, rules(conn))
    if due == 0:
        raise Refused("nothing is due", code="nothing_due")
    if amount != due:
        raise Refused(f"{due} is due, not {amount}: quote again", code="stale_quote")
    transaction_id = visitor_payment(conn, ctx, amount, "qr", provider, f"parking {key} ahead")
    conn.execute(
        update(parking_sessions)
        .where(parking_sessions.c.id == session.id)
        .values(paid_at=moment, prepaid=int(session.prepaid or 0) + amount)
    )
    return {
        "plate": key,
        "session_id": session.id,
        "amount": amount,
        "tariff_version": tariff.version,
        "paid_at": moment.isoformat(),
        "grace_minutes": tariff.grace_minutes,
        "transaction_id": transaction_id,
    }


def quote(
    conn: Connection, ctx: Context, *, plate: str, at: datetime | None = None
) -> dict[str, Any]:
    """What the car inside with this plate owes now (a visitor paying in advance)."""
    key = plate_key(plate)
    moment = moment_of(ctx, at)
    session = car_inside(conn, key)
    if session is None:
        raise NotFound(f"no car with plate {key} is inside", code="not_inside")
    kind = TariffKind.VISITOR if session.kind == "visitor" else TariffKind.RESIDENT
    tariff = current_tariff(conn, kind, moment)
    due, _ = session_due(conn, ctx, session, tariff, moment, rules(conn))
    return {
        "plate": key,
        "session_id": session.id,
        "kind": session.kind,
        "entered_at": session.entered_at.isoformat(),
        "tariff_version": tariff.version,
        "due": due,
    }
