"""Parking operations: tariffs, rules, passes, entries and exits.

Every function works in the caller's transaction and commits nothing. A car
refused by a business rule is an answer (``allowed: false`` with a reason), not
an error: the gate shows it and journals it. Times of entries and exits are the
gate's (``at``): a gate that was offline reports them later.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from central.db.schema import accounts, credentials, units
from central.errors import InvalidRequest, NotFound, Refused
from central.estate.registry import normalise_credential
from central.journal.snapshot import hash_key
from central.ledger import accounts as acc
from central.ledger import operations as ops
from central.ledger.operations import Context
from central.ledger.posting import Leg, new_transaction_id, post
from central.parking.tables import (
    parking_passes,
    parking_reviews,
    parking_sessions,
    parking_settings,
    parking_tariffs,
)
from domain import journal as dj
from domain import parking as dp
from domain.parking import (
    DEFAULT_RULES,
    ParkingTariff,
    PassPeriod,
    Rule,
    RuleAction,
    Situation,
    TariffError,
    TariffKind,
)
from domain.wallets import Purpose, cash_box_code, clearing_code, revenue_code

SERVICE = "parking"
WALLET = Purpose.PARKING.value
# A gate may report a car up to this long after the fact (a long outage), and its
# clock may run a little ahead of the server's.
MAX_REPORT_AGE = timedelta(days=30)
MAX_CLOCK_AHEAD = timedelta(minutes=10)
RENEW_DAYS_BEFORE = 7
REMIND_DAYS_BEFORE = 10


# -- tariffs ---------------------------------------------------------------------------


def add_tariff(
    conn: Connection,
    *,
    kind: str,
    spec: dict[str, Any],
    effective_from: datetime,
    now: datetime,
    currency: str,
) -> dict[str, Any]:
    """Store a new tariff version; versions are never changed, only superseded."""
    try:
        TariffKind(kind)
        tariff = dp.tariff_from_spec({**spec, "currency": currency})
    except (TariffError, ValueError) as err:
        raise InvalidRequest(str(err), code="invalid_tariff") from err
    if effective_from.tzinfo is None:
        raise InvalidRequest("effective_from needs a time zone", code="invalid_tariff")
    if conn.execute(
        select(parking_tariffs.c.id).where(parking_tariffs.c.version == tariff.version)
    ).first():
        raise Refused(f"tariff version {tariff.version!r} exists already", code="tariff_exists")
    conn.execute(
        insert(parking_tariffs).values(
            version=tariff.version,
            kind=kind,
            spec=json.dumps(dp.tariff_to_spec(tariff)),
            effective_from=effective_from,
            created_at=now,
        )
    )
    return {"kind": kind, "effective_from": effective_from.isoformat(), **dp.tariff_to_spec(tariff)}


def list_tariffs(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(parking_tariffs).order_by(parking_tariffs.c.kind, parking_tariffs.c.effective_from)
    ).all()
    return [
        {"kind": r.kind, "effective_from": r.effective_from.isoformat(), **json.loads(r.spec)}
        for r in rows
    ]


def tariff_by_version(conn: Connection, version: str) -> tuple[TariffKind, ParkingTariff]:
    row = conn.execute(
        select(parking_tariffs.c.kind, parking_tariffs.c.spec).where(
            parking_tariffs.c.version == version
        )
    ).first()
    if row is None:
        raise NotFound(f"there is no parking tariff {version!r}", code="unknown_tariff")
    return TariffKind(row.kind), dp.tariff_from_spec(json.loads(row.spec))


def current_tariff(conn: Connection, kind: TariffKind, at: datetime) -> ParkingTariff:
    """The tariff of ``kind`` in force at ``at``: the latest to take effect by then."""
    row = conn.execute(
        select(parking_tariffs.c.spec)
        .where(parking_tariffs.c.kind == kind.value, parking_tariffs.c.effective_from <= at)
        .order_by(parking_tariffs.c.effective_from.desc(), parking_tariffs.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        raise Refused(f"no {kind.value} parking tariff is in force", code="no_tariff")
    return dp.tariff_from_spec(json.loads(row.spec))


# -- rules and settings ----------------------------------------------------------------


def _setting(conn: Connection, key: str) -> Any:
    value = conn.execute(
        select(parking_settings.c.value).where(parking_settings.c.key == key)
    ).scalar()
    return None if value is None else json.loads(value)


def _put_setting(conn: Connection, key: str, value: Any, now: datetime) -> None:
    text = json.dumps(value)
    if conn.execute(
        update(parking_settings)
        .where(parking_settings.c.key == key)
        .values(value=text, changed_at=now)
    ).rowcount:
        return
    conn.execute(insert(parking_settings).values(key=key, value=text, changed_at=now))


def rules(conn: Connection) -> dict[Situation, Rule]:
    found = dict(DEFAULT_RULES)
    for situation in Situation:
        stored = _setting(conn, f"rule:{situation.value}")
        if stored is not None:
            found[situation] = Rule(situation, RuleAction(stored["action"]), stored["maximum"])
    return found


def renewal_settings(conn: Connection) -> dict[str, int]:
    stored = _setting(conn, "renewal") or {}
    return {
        "renew_days_before": int(stored.get("renew_days_before", RENEW_DAYS_BEFORE)),
        "remind_days_before": int(stored.get("remind_days_before", REMIND_DAYS_BEFORE)),
    }


def describe_rules(conn: Connection) -> dict[str, Any]:
    return {
        "rules": {
            s.value: {"action": r.action.value, "maximum": r.maximum}
            for s, r in rules(conn).items()
        },
        **renewal_settings(conn),
    }


def set_rules(
    conn: Connection,
    *,
    rules_in: dict[str, dict[str, Any]],
    renew_days_before: int | None,
    remind_days_before: int | None,
    now: datetime,
) -> dict[str, Any]:
    for name, body in rules_in.items():
        try:
            rule = Rule(Situation(name), RuleAction(body["action"]), int(body.get("maximum", 0)))
        except (TariffError, ValueError, KeyError) as err:
            raise InvalidRequest(f"rule {name!r}: {err}", code="invalid_rule") from err
        _put_setting(
            conn,
            f"rule:{name}",
            {"action": rule.action.value, "maximum": rule.maximum},
            now,
        )
    if renew_days_before is not None or remind_days_before is not None:
        current = renewal_settings(conn)
        if renew_days_before is not None:
            current["renew_days_before"] = renew_days_before
        if remind_days_before is not None:
            current["remind_days_before"] = remind_days_before
        if current["remind_days_before"] < current["renew_days_before"]:
            raise InvalidRequest(
                "the reminder comes before the renewal: remind_days_before >= renew_days_before",
                code="invalid_rule",
            )
        _put_setting(conn, "renewal", current, now)
    return describe_rules(conn)


# -- vehicles and passes -------------------------------------------------------------------


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


def _usable_pass(conn: Connection, unit_id: int, plate: str, day: date) -> str | None:
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


# -- entries and exits ---------------------------------------------------------------------


def _moment(ctx: Context, at: datetime | None) -> datetime:
    if at is None:
        return ctx.now
    if at.tzinfo is None:
        raise InvalidRequest("a time needs a zone", code="invalid_time")
    if at > ctx.now + MAX_CLOCK_AHEAD or at < ctx.now - MAX_REPORT_AGE:
        raise InvalidRequest("the time is too far from the server's", code="invalid_time")
    return at


def _review(
    conn: Connection,
    ctx: Context,
    *,
    situation: Situation,
    plate: str,
    session_id: str | None,
    lane: str | None,
    note: str,
) -> None:
    conn.execute(
        insert(parking_reviews).values(
            situation=situation.value,
            plate=plate,
            session_id=session_id,
            lane=lane,
            note=note[:200],
            status="open",
            created_at=ctx.now,
        )
    )


def _inside(conn: Connection, plate: str) -> Any:
    return conn.execute(
        select(parking_sessions)
        .where(parking_sessions.c.plate == plate, parking_sessions.c.status == "inside")
        .order_by(parking_sessions.c.entered_at.desc())
        .limit(1)
    ).first()


def _unit_code(conn: Connection, unit_id: int | None) -> str | None:
    if unit_id is None:
        return None
    return conn.execute(select(units.c.code).where(units.c.id == unit_id)).scalar()


def _charge_wallet(conn: Connection, ctx: Context, unit: str, amount: int, memo: str) -> str | None:
    """Charge the parking wallet; None when it cannot pay (the caller decides what then)."""
    if amount <= 0:
        return None
    savepoint = conn.begin_nested()
    try:
        charged = ops.charge(
            conn,
            ctx,
            unit=unit,
            purpose=WALLET,
            amount=amount,
            currency=ctx.estate.currency,
            service=SERVICE,
            memo=memo,
        )
    except Refused:
        savepoint.rollback()
        raise
    savepoint.commit()
    return str(charged["transaction_id"])


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
    moment = _moment(ctx, at)
    answer: dict[str, Any] = {"plate": key, "lane": lane, "allowed": False, "reason": None}
    if match != "exact":
        answer["reason"] = "not_exact"
        return answer
    owner = unit_of_plate(conn, key)
    previous = _inside(conn, key)
    if previous is not None:
        rule = rules(conn)[Situation.ALREADY_INSIDE]
        amount = rule.maximum if rule.action is RuleAction.CHARGE_MAXIMUM else 0
        paid_by, transaction_id = "owed", None
        unit = _unit_code(conn, previous.unit_id)
        if amount > 0 and unit is not None and previous.kind != "pass":
            try:
                transaction_id = _charge_wallet(conn, ctx, unit, amount, f"parking {key}")
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
        _review(
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
    pass_id = None if owner is None else _usable_pass(conn, owner[0], key, day)
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


def _pass_ends(conn: Connection, ctx: Context, pass_id: str) -> datetime:
    until = conn.execute(
        select(parking_passes.c.valid_until).where(parking_passes.c.id == pass_id)
    ).scalar_one()
    day_after = date.fromisoformat(until) + timedelta(days=1)
    return datetime.combine(day_after, time(0), tzinfo=ctx.estate.zone)


def _due(
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


def guard_cash_code(terminal_id: str | None) -> str:
    """The cash a gate's guard takes: a cash box per gate, counted like a kiosk's."""
    return cash_box_code(f"guard.{terminal_id or 'gate'}")


def _visitor_payment(
    conn: Connection, ctx: Context, amount: int, method: str, provider: str, memo: str
) -> str | None:
    """A payment not from a wallet: by QR (the provider owes the estate) or in cash at
    the guard (the gate's guard cash box holds it); parking earned it either way."""
    if amount <= 0:
        return None
    if method == "qr":
        source = acc.system_account(
            conn, clearing_code(provider), kind="clearing", currency=ctx.estate.currency
        )
    else:
        source = acc.system_account(
            conn, guard_cash_code(ctx.terminal_id), kind="cash_box", currency=ctx.estate.currency
        )
    revenue = acc.system_account(
        conn, revenue_code(SERVICE), kind="revenue", currency=ctx.estate.currency
    )
    posted = post(
        conn,
        kind="charge",
        idempotency_key=ctx.idempotency_key,
        legs=[Leg(source, -amount), Leg(revenue, amount)],
        created_at=ctx.now,
        actor=ctx.actor,
        method="provider" if method == "qr" else "cash",
        terminal_id=ctx.terminal_id,
        memo=memo,
    )
    return posted.transaction_id


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
    moment = _moment(ctx, at)
    if tariff_version is not None and amount is None:
        raise InvalidRequest(
            "a decision record names the amount the gate charged", code="invalid_record"
        )
    session = _inside(conn, key)
    answer: dict[str, Any] = {"plate": key, "lane": lane, "match": match}
    rule_book = rules(conn)
    if session is None:
        return _exit_without_entry(
            conn, ctx, key, lane, moment, rule_book, answer, amount, paid_by, provider
        )
    unit = _unit_code(conn, session.unit_id)
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
    server_amount, to_review = _due(conn, ctx, session, tariff, moment, rule_book)
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
                transaction_id = _charge_wallet(conn, ctx, unit, charged, f"parking {key}")
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
            transaction_id = _visitor_payment(
                conn, ctx, charged, method, provider, f"parking {key}"
            )
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
        _review(
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
            transaction_id = _charge_wallet(conn, ctx, owner[1], charged, f"parking {key}")
        except Refused:
            method = "owed"
    elif charged > 0 and method in ("qr", "guard"):
        transaction_id = _visitor_payment(conn, ctx, charged, method, provider, f"parking {key}")
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
    _review(
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
    moment = _moment(ctx, at)
    rule = rules(conn)[Situation.REVERSED_OUT]
    session = _inside(conn, key) if direction == "entry" else None
    action = "review"
    if session is not None and rule.action is RuleAction.CANCEL:
        conn.execute(
            update(parking_sessions)
            .where(parking_sessions.c.id == session.id)
            .values(status="cancelled", exited_at=moment, amount=0)
        )
        action = "cancelled"
    else:
        _review(
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
    moment = _moment(ctx, at)
    session = _inside(conn, key)
    if session is None:
        raise NotFound(f"no car with plate {key} is inside", code="not_inside")
    kind = TariffKind.VISITOR if session.kind == "visitor" else TariffKind.RESIDENT
    recorded_kind, tariff = tariff_by_version(conn, tariff_version)
    current = current_tariff(conn, kind, moment)
    if recorded_kind is not kind or current.version != tariff.version:
        raise Refused("the tariff changed since the quote: quote again", code="stale_quote")
    due, _ = _due(conn, ctx, session, tariff, moment, rules(conn))
    if due == 0:
        raise Refused("nothing is due", code="nothing_due")
    if amount != due:
        raise Refused(f"{due} is due, not {amount}: quote again", code="stale_quote")
    transaction_id = _visitor_payment(conn, ctx, amount, "qr", provider, f"parking {key} ahead")
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
    moment = _moment(ctx, at)
    session = _inside(conn, key)
    if session is None:
        raise NotFound(f"no car with plate {key} is inside", code="not_inside")
    kind = TariffKind.VISITOR if session.kind == "visitor" else TariffKind.RESIDENT
    tariff = current_tariff(conn, kind, moment)
    due, _ = _due(conn, ctx, session, tariff, moment, rules(conn))
    return {
        "plate": key,
        "session_id": session.id,
        "kind": session.kind,
        "entered_at": session.entered_at.isoformat(),
        "tariff_version": tariff.version,
        "due": due,
    }


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


def open_reviews(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(parking_reviews)
        .where(parking_reviews.c.status == "open")
        .order_by(parking_reviews.c.id)
    ).all()
    return [
        {
            "id": r.id,
            "situation": r.situation,
            "plate": r.plate,
            "session_id": r.session_id,
            "lane": r.lane,
            "note": r.note,
            "created_at": r.created_at.isoformat(),
        }
        for r in rows
    ]


def snapshot(conn: Connection, *, terminal_id: str, estate: Any, now: datetime) -> dict[str, Any]:
    """What a gate needs to decide offline, in ``gate.barrier.book``'s layout.

    Plates travel as keyed hashes under the terminal's snapshot key (the one the
    journal's snapshot uses), never in clear; the tariffs in force now with their
    versions; the manager's rules; the active passes; the parking wallets.
    """
    key = hash_key(conn, terminal_id)
    plates = {
        dj.credential_hash(key, "plate", row.value): {"unit": row.unit}
        for row in conn.execute(
            select(credentials.c.value, units.c.code.label("unit"))
            .join(units, units.c.id == credentials.c.unit_id)
            .where(credentials.c.kind == "plate", credentials.c.status == "active")
        )
    }
    wallets = {
        row.unit: int(row.balance) - int(row.held) - int(row.floor or 0)
        for row in conn.execute(
            select(
                units.c.code.label("unit"), accounts.c.balance, accounts.c.held, accounts.c.floor
            )
            .join(units, units.c.id == accounts.c.unit_id)
            .where(accounts.c.kind == "wallet", accounts.c.purpose == WALLET)
        )
    }
    passes = [
        {
            "id": p["pass_id"],
            "unit": p["unit"],
            "plate_hash": None
            if p["plate"] is None
            else dj.credential_hash(key, "plate", p["plate"]),
            "valid_from": p["valid_from"],
            "valid_until": p["valid_until"],
        }
        for p in list_passes(conn)
        if p["status"] == "active"
    ]
    tariffs = {}
    for kind in TariffKind:
        try:
            tariffs[kind.value] = dp.tariff_to_spec(current_tariff(conn, kind, now))
        except Refused:
            continue
    paid = {
        dj.credential_hash(key, "plate", row.plate): row.paid_at.isoformat()
        for row in conn.execute(
            select(parking_sessions.c.plate, parking_sessions.c.paid_at).where(
                parking_sessions.c.status == "inside", parking_sessions.c.paid_at.is_not(None)
            )
        )
    }
    return {
        "terminal_id": terminal_id,
        "hash_key": key,
        "paid": paid,
        "timezone": estate.timezone,
        "currency": estate.currency,
        "plates": plates,
        "wallets": wallets,
        "passes": passes,
        "tariffs": tariffs,
        "rules": describe_rules(conn)["rules"],
    }
