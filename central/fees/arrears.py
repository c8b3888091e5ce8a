"""The daily job: collect what falls due from wallets, add late fees, queue reminders.

Reminders go through a small outbox (``fee_reminders``): one row per bill and
kind (before or after the due date), so each is queued once however often the
job runs, and :func:`deliver` sends the pending ones through the channels.
The channel interface matches the metering notifier's ``Channel`` (issue 8),
so its SMS, e-mail and in-app channels plug in unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, insert, select, update

from central.db.schema import residents, units
from central.errors import CentralError
from central.estate.settings import Estate
from central.fees.billing import PROPERTY_FEE, FeePolicy, load_policy
from central.fees.payments import WALLET, WALLET_OF, available, outstanding, pay_bill
from central.fees.tables import bill_instalments, bills, fee_reminders
from central.ledger import accounts as acc
from central.ledger.plans import Context
from domain.fees import late_fee_increment, late_fee_total
from domain.money import Money

log = logging.getLogger("central.fees")

MAX_ATTEMPTS = 5
SYSTEM_ACTOR = "system:fees"


class Channel(Protocol):
    """Delivers one message; raises on failure (the reminder stays pending)."""

    name: str

    def send(self, *, to: str, subject: str, body: str, unit: str, resident_id: int) -> None: ...


class LogChannel:
    """Development and the in-app list: log the unit and resident id, never the address."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, *, to: str, subject: str, body: str, unit: str, resident_id: int) -> None:
        log.info(
            "fee reminder", extra={"channel": self.name, "unit": unit, "resident": resident_id}
        )


def development_channels() -> dict[str, Channel]:
    return {"sms": LogChannel("sms"), "email": LogChannel("email"), "app": LogChannel("app")}


def _open_bills(conn: Connection) -> list[Any]:
    return list(
        conn.execute(
            select(bills, units.c.code.label("unit"))
            .join(units, units.c.id == bills.c.unit_id)
            .where(bills.c.status == "open")
            .order_by(bills.c.due_on, bills.c.id)
        ).all()
    )


def _unpaid_instalments(conn: Connection, bill_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(bill_instalments)
            .where(bill_instalments.c.bill_id == bill_id, bill_instalments.c.paid_at.is_(None))
            .order_by(bill_instalments.c.seq)
        ).all()
    )


def collect_due(conn: Connection, estate: Estate, now: datetime) -> list[dict[str, Any]]:
    """Pay each bill (or instalment) that is due from the unit's wallet, if it holds enough.

    Each payment runs in a savepoint: one that fails leaves the others standing.
    """
    today = now.astimezone(estate.zone).date()
    paid: list[dict[str, Any]] = []
    for row in _open_bills(conn):
        plan = _unpaid_instalments(conn, row.id)
        steps: list[tuple[str, int]] = []
        if plan:
            due = [i for i in plan if i.due_on <= today]
            steps = [("next_instalment", i.seq) for i in due]
        elif row.due_on <= today:
            steps = [("whole", 0)]
        wallet = acc.wallet(conn, row.unit, WALLET_OF[row.kind])
        for what, seq in steps:
            current = conn.execute(select(bills).where(bills.c.id == row.id)).one()
            amount = outstanding(current)
            if what == "next_instalment":
                amount = int(plan[seq - plan[0].seq].amount) + (
                    int(current.late_fee - current.late_fee_paid) if seq == plan[-1].seq else 0
                )
            if available(conn, wallet.id) < amount:
                break
            ctx = Context(
                estate=estate,
                idempotency_key=f"fees:auto:{row.id}:{what}:{seq}:{current.paid}",
                actor=SYSTEM_ACTOR,
                now=now,
            )
            try:
                with conn.begin_nested():
                    result = pay_bill(conn, ctx, bill_id=row.id, what=what, method=WALLET)
            except CentralError as err:
                log.info("auto-payment refused", extra={"bill": row.id, "code": err.code})
                break
            paid.append(
                {"bill_id": row.id, "unit": row.unit, "amount": result["amount"], "what": what}
            )
    return paid


def accrue_late_fees(conn: Connection, policy: FeePolicy, today: date) -> list[dict[str, Any]]:
    """Bring each overdue property-fee bill's late fee up to what it has earned, capped."""
    rule = policy.late_fee
    if rule is None:
        return []
    changed: list[dict[str, Any]] = []
    currency = None
    for row in _open_bills(conn):
        if row.kind != PROPERTY_FEE or row.due_on >= today:
            continue
        plan = _unpaid_instalments(conn, row.id)
        overdue = (
            [(int(i.amount), i.due_on) for i in plan if i.due_on < today]
            if plan
            else [(int(row.amount - row.paid), row.due_on)]
        )
        if currency is None:
            currency = acc.wallet(conn, row.unit, WALLET_OF[row.kind]).currency
        earned = late_fee_total(
            bill=int(row.amount), overdue=overdue, today=today, rule=rule, currency=currency
        )
        add = late_fee_increment(earned, int(row.late_fee))
        if add:
            conn.execute(
                update(bills).where(bills.c.id == row.id).values(late_fee=bills.c.late_fee + add)
            )
            changed.append({"bill_id": row.id, "unit": row.unit, "added": add})
    return changed


def _message(row: Any, kind: str, estate: Estate) -> tuple[str, str]:
    owed = Money(outstanding(row), estate.currency).format()
    what = "property fee" if row.kind == PROPERTY_FEE else "maintenance fund contribution"
    if kind == "before":
        return (
            f"Your {what} is due on {row.due_on.isoformat()}",
            f"Unit {row.unit}: {owed} for {row.period} is due on {row.due_on.isoformat()}. "
            "Pay at the lobby kiosk, at the office or in the app; a balance in the "
            "wallet is taken on the due date.",
        )
    return (
        f"Your {what} is overdue",
        f"Unit {row.unit}: {owed} for {row.period} was due on {row.due_on.isoformat()} "
        "and is still open. Please pay at the lobby kiosk, at the office or in the app.",
    )


def queue_reminders(
    conn: Connection, policy: FeePolicy, estate: Estate, now: datetime
) -> list[dict[str, Any]]:
    """One reminder before the due date and one after it, per bill, ever."""
    today = now.astimezone(estate.zone).date()
    sent = {
        (r.bill_id, r.kind)
        for r in conn.execute(select(fee_reminders.c.bill_id, fee_reminders.c.kind))
    }
    queued: list[dict[str, Any]] = []
    for row in _open_bills(conn):
        kind = None
        if row.due_on + timedelta(days=policy.remind_days_after) <= today:
            kind = "after"
        elif row.due_on - timedelta(days=policy.remind_days_before) <= today < row.due_on:
            kind = "before"
        if kind is None or (row.id, kind) in sent:
            continue
        subject, body = _message(row, kind, estate)
        conn.execute(
            insert(fee_reminders).values(
                bill_id=row.id, kind=kind, created_at=now, subject=subject, body=body
            )
        )
        queued.append({"bill_id": row.id, "unit": row.unit, "kind": kind})
    return queued


def daily(conn: Connection, estate: Estate, now: datetime) -> dict[str, Any]:
    """The day's fee work, in order: late fees first (so a wallet pays them too), then
    collection from wallets, then reminders for what is still open."""
    policy = load_policy(conn)
    today = now.astimezone(estate.zone).date()
    late = accrue_late_fees(conn, policy, today)
    collected = collect_due(conn, estate, now)
    reminders = queue_reminders(conn, policy, estate, now)
    return {
        "day": today.isoformat(),
        "late_fees": late,
        "collected": collected,
        "reminders": reminders,
    }


def deliver(conn: Connection, channels: Mapping[str, Channel], now: datetime) -> int:
    """Send pending reminders to the unit's current residents: in-app always, SMS to a
    phone, e-mail to an address. Returns how many reminders went out."""
    done = 0
    pending = conn.execute(
        select(fee_reminders, bills.c.unit_id, units.c.code.label("unit"))
        .join(bills, bills.c.id == fee_reminders.c.bill_id)
        .join(units, units.c.id == bills.c.unit_id)
        .where(fee_reminders.c.status == "pending")
    ).all()
    for reminder in pending:
        people = conn.execute(
            select(residents.c.id, residents.c.phone, residents.c.email).where(
                residents.c.unit_id == reminder.unit_id, residents.c.moved_out_at.is_(None)
            )
        ).all()
        try:
            for person in people:
                for channel, to in (
                    ("app", str(person.id)),
                    ("sms", person.phone),
                    ("email", person.email),
                ):
                    if to and channel in channels:
                        channels[channel].send(
                            to=to,
                            subject=reminder.subject,
                            body=reminder.body,
                            unit=reminder.unit,
                            resident_id=person.id,
                        )
        except Exception as err:  # a channel's failure: retried on the next run
            attempts = reminder.attempts + 1
            log.warning(
                "fee reminder not delivered",
                extra={"reminder": reminder.id, "unit": reminder.unit, "error": type(err).__name__},
            )
            conn.execute(
                update(fee_reminders)
                .where(fee_reminders.c.id == reminder.id)
                .values(
                    attempts=attempts, status="failed" if attempts >= MAX_ATTEMPTS else "pending"
                )
            )
            continue
        conn.execute(
            update(fee_reminders)
            .where(fee_reminders.c.id == reminder.id)
            .values(status="sent", sent_at=now, attempts=reminder.attempts + 1)
        )
        done += 1
    return done
