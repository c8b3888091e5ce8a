"""The gates' entries and exits: a session opened, closed and settled, or cancelled.

Every function works in the caller's transaction and commits nothing. A car
refused by a business rule is an answer (``allowed: false`` with a reason), not
an error: the gate shows it and journals it. Times of entries and exits are the
gate's (``at``): a gate that was offline reports them later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, update

from central.errors import InvalidRequest, Refused
from central.ledger.operations import Context
from central.ledger.posting import new_transaction_id
from central.parking.dues import session_due
from central.parking.passes import plate_key, unit_of_plate, usable_pass
from central.parking.payments import charge_wallet, visitor_payment
from central.parking.review_cases import open_review
from central.parking.rules import rules
from central.parking.sessions import car_inside, moment_of, unit_code_of
from central.parking.tables import parking_sessions
from central.parking.tariffs import current_tariff, tariff_by_version
from domain.parking import ParkingTariff, Rule, RuleAction, Situation, TariffKind


def enter(
    conn: Connection,
    ctx: Context,
    *,
    plate: str,
    lane: str | None = None,
    at: datetime | None = None,
    match: str = "exact",
) -> dict[str, Any]:
    """Decide an entry by plate and open a session for it.

    Only an exact read opens for a pass or a resident: a fuzzy match never opens
    a gate on its own (DESIGN.md, "Credentials").
    """
    key = plate_key(plate)
    moment = moment_of(ctx, at)
    answer: dict[str, Any] = {"plate": key, "lane": lane, "allowed": False, "reason": None}
    if match != "exact":
        answer["reason"] = "not_exact"
        return answer
    owner = unit_of_plate(conn, key)
    previous = car_inside(conn, key)
    if previous is not None:
        rule = rules(conn)[Situation.ALREADY_INSIDE]
        amount = rule.maximum if rule.action is RuleAction.CHARGE_MAXIMUM else 0
        paid_by, transaction_id = "owed", None
        unit = unit_code_of(conn, previous.unit_id)
        if amount > 0 and unit is not None and previous.kind != "pass":
            try:
                transaction_id = charge_wallet(conn, ctx, unit, amount, f"parking {key}")
                paid_by = "wallet"
            except Refused:
                pass
        conn.execute(
            update(parking_sessions)
            .where(parking_sessions.c.id == previous.id)
            .values(
                status="closed",
                exited_at=moment,
                amount=amount,
                paid_by=paid_by if amount else None,
                transaction_id=transaction_id,
            )
        )
        open_review(
            conn,
            ctx,
            situation=Situation.ALREADY_INSIDE,
            plate=key,
            session_id=previous.id,
            lane=lane,
            note=f"entered again while inside; rule {rule.action.value}, {amount} {paid_by}",
        )
        answer["already_inside"] = previous.id
    day = moment.astimezone(ctx.estate.zone).date()
    unit_id = None if owner is None else owner[0]
    pass_id = None if owner is None else usable_pass(conn, owner[0], key, day)
    kind = "pass" if pass_id else "resident" if owner else "visitor"
    tariff_kind = TariffKind.VISITOR if kind == "visitor" else TariffKind.RESIDENT
    try:
        version: str | None = current_tariff(conn, tariff_kind, moment).version
    except Refused:
        version = None
    session_id = new_transaction_id()
    conn.execute(
        insert(parking_sessions).values(
            id=session_id,
            plate=key,
            unit_id=unit_id,
            pass_id=pass_id,
            kind=kind,
            entry_lane=lane,
            entered_at=moment,
            status="inside",
            tariff_version=version,
            terminal_id=ctx.terminal_id,
        )
    )
    answer.update(
        allowed=True,
        kind=kind,
        unit=None if owner is None else owner[1],
        pass_id=pass_id,
        session_id=session_id,
        tariff_version=version,
    )
    return answer


def leave(
    conn: Connection,
    ctx: Context,
    *,
    plate: str,
    lane: str | None = None,
    at: datetime | None = None,
    match: str = "exact",
    tariff_version: str | None = None,
    amount: int | None = None,
    paid_by: str | None = None,
    provider: str = "sandbox",
) -> dict[str, Any]:
    """Close the plate's session and settle it.

    With a decision record (``tariff_version`` and ``amount``) the gate's price
    is honoured: the driver was shown it and the barrier opened on it, even if
    the tariff changed while the gate was offline. The server's own price under
    that version is kept beside it, and a difference goes to review.
    Without one, the server prices the stay with the tariff in force at the exit.
    """
    key = plate_key(plate)
    moment = moment_of(ctx, at)
    if tariff_version is not None and amount is None:
        raise InvalidRequest(
            "a decision record names the amount the gate charged", code="invalid_record"
        )
    session = car_inside(conn, key)
    answer: dict[str, Any] = {"plate": key, "lane": lane, "match": match}
    rule_book = rules(conn)
    if session is None:
        return _exit_without_entry(
            conn, ctx, key, lane, moment, rule_book, answer, amount, paid_by, provider
        )
    unit = unit_code_of(conn, session.unit_id)
    tariff_kind = TariffKind.VISITOR if session.kind == "visitor" else TariffKind.RESIDENT
    review_note = ""
    tariff: ParkingTariff | None = None
    if tariff_version is not None:
        recorded_kind, recorded = tariff_by_version(conn, tariff_version)
        if recorded_kind is tariff_kind:
            tariff = recorded
        else:
            # The car has left on the gate's word: honour it, and show it to a manager.
            review_note = (
                f"the gate priced a {recorded_kind.value} stay with {tariff_version}, "
                f"the server has a {tariff_kind.value} stay"
            )
    elif amount is not None:
        review_note = "the gate charged without naming its tariff version"
    if tariff is None:
        tariff = current_tariff(conn, tariff_kind, moment)
    server_amount, to_review = session_due(conn, ctx, session, tariff, moment, rule_book)
    if to_review:
        review_note = review_note or "the pass ended during the stay"
    charged = server_amount if amount is None else amount
    if amount is not None and amount != server_amount and not review_note:
        review_note = (
            f"the gate charged {amount} under {tariff.version}, the server makes it {server_amount}"
        )
    method = paid_by or (
        "pass" if session.kind == "pass" and charged == 0 else "wallet" if unit else None
    )
    transaction_id = None
    if charged > 0:
        if method == "wallet" and unit is not None:
            try:
                transaction_id = charge_wallet(conn, ctx, unit, charged, f"parking {key}")
            except Refused:
                if amount is None:
                    # Online, at the barrier: the driver pays another way.
                    answer.update(
                        allowed=False,
                        reason="insufficient_funds",
                        due=charged,
                        session_id=session.id,
                        tariff_version=tariff.version,
                    )
                    return answer
                method = "owed"
                review_note = review_note or "the wallet could not pay what the gate charged"
        elif method in ("qr", "guard"):
            transaction_id = visitor_payment(conn, ctx, charged, method, provider, f"parking {key}")
        elif method == "ticket":
            review_note = review_note or "left with a ticket to pay later"
        elif amount is not None:
            # The gate let the car out on a record this server cannot settle: owed.
            method = "owed"
            review_note = review_note or f"left owing {charged} ({paid_by or 'no payment'})"
        else:
            answer.update(
                allowed=False,
                reason="payment_required",
                due=charged,
                session_id=session.id,
                tariff_version=tariff.version,
            )
            return answer
    conn.execute(
        update(parking_sessions)
        .where(parking_sessions.c.id == session.id)
        .values(
            status="closed",
            exited_at=moment,
            exit_lane=lane,
            tariff_version=tariff.version,
            amount=charged + int(session.prepaid or 0),
            server_amount=server_amount,
            paid_by=method if charged > 0 else "free" if session.kind != "pass" else "pass",
            transaction_id=transaction_id,
            exit_match=match,
        )
    )
    if review_note:
        situation = (
            Situation.PASS_EXPIRED_MID_STAY
            if session.kind == "pass"
            else Situation.EXIT_WITHOUT_ENTRY
        )
        open_review(
            conn,
            ctx,
            situation=situation,
            plate=key,
            session_id=session.id,
            lane=lane,
            note=review_note,
        )
    answer.update(
        allowed=True,
        session_id=session.id,
        kind=session.kind,
        unit=unit,
        tariff_version=tariff.version,
        amount=charged,
        server_amount=server_amount,
        paid_by=method,
        transaction_id=transaction_id,
        review=bool(review_note),
    )
    return answer


def _exit_without_entry(
    conn: Connection,
    ctx: Context,
    key: str,
    lane: str | None,
    moment: datetime,
    rule_book: dict[Situation, Rule],
    answer: dict[str, Any],
    amount: int | None,
    paid_by: str | None,
    provider: str,
) -> dict[str, Any]:
    rule = rule_book[Situation.EXIT_WITHOUT_ENTRY]
    owner = unit_of_plate(conn, key)
    charged = rule.maximum if rule.action is RuleAction.CHARGE_MAXIMUM else 0
    if amount is not None:
        charged = amount
    method = paid_by or ("wallet" if owner else "owed")
    transaction_id = None
    if charged > 0 and method == "wallet" and owner is not None:
        try:
            transaction_id = charge_wallet(conn, ctx, owner[1], charged, f"parking {key}")
        except Refused:
            method = "owed"
    elif charged > 0 and method in ("qr", "guard"):
        transaction_id = visitor_payment(conn, ctx, charged, method, provider, f"parking {key}")
    session_id = new_transaction_id()
    conn.execute(
        insert(parking_sessions).values(
            id=session_id,
            plate=key,
            unit_id=None if owner is None else owner[0],
            kind="resident" if owner else "visitor",
            exit_lane=lane,
            exited_at=moment,
            status="closed",
            amount=charged,
            paid_by=method if charged else None,
            transaction_id=transaction_id,
            terminal_id=ctx.terminal_id,
        )
    )
    open_review(
        conn,
        ctx,
        situation=Situation.EXIT_WITHOUT_ENTRY,
        plate=key,
        session_id=session_id,
        lane=lane,
        note=f"no entry found; rule {rule.action.value}, {charged} charged",
    )
    answer.update(
        allowed=True,
        session_id=session_id,
        kind="resident" if owner else "visitor",
        unit=None if owner is None else owner[1],
        amount=charged,
        paid_by=method,
        transaction_id=transaction_id,
        review=True,
        situation=Situation.EXIT_WITHOUT_ENTRY.value,
    )
    return answer


def reversed_out(
    conn: Connection,
    ctx: Context,
    *,
    plate: str,
    direction: str,
    lane: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The arm went up and the car backed out of the lane instead of passing.

    At an entry the manager's rule cancels the session the entry opened (the car
    never came in) or leaves it for review; at an exit the car paid and is still
    inside, which a manager reviews.
    """
    key = plate_key(plate)
    moment = moment_of(ctx, at)
    rule = rules(conn)[Situation.REVERSED_OUT]
    session = car_inside(conn, key) if direction == "entry" else None
    action = "review"
    if session is not None and rule.action is RuleAction.CANCEL:
        conn.execute(
            update(parking_sessions)
            .where(parking_sessions.c.id == session.id)
            .values(status="cancelled", exited_at=moment, amount=0)
        )
        action = "cancelled"
    else:
        open_review(
            conn,
            ctx,
            situation=Situation.REVERSED_OUT,
            plate=key,
            session_id=None if session is None else session.id,
            lane=lane,
            note=f"reversed out of the {direction} lane",
        )
    return {
        "plate": key,
        "direction": direction,
        "action": action,
        "session_id": None if session is None else session.id,
    }
