"""Passes that renew themselves from the unit's parking wallet.

A job (:func:`run_renewals`, run daily or more often) looks at every active pass
that renews itself. From ``remind_days_before`` its end, the unit's residents
get one reminder per period; from ``renew_days_before``, the next period is
charged to the parking wallet and the pass extended. The charge's idempotency
key names the pass and the period (``parking-renewal:<pass>:<first day>``), so
a job run twice, or two workers at once, charge a period once. A wallet that
cannot pay gets one notification per period; the pass stays as it is and is
tried again on every run until it ends, when it lapses.

Each pass is its own transaction: one wallet that cannot pay never holds up the
others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from central.db.database import Database
from central.db.schema import accounts, residents, transactions, units
from central.errors import Refused
from central.estate.settings import Estate
from central.ledger import accounts as acc
from central.ledger import operations as ops
from central.ledger.operations import Context
from central.metering.tables import notifications
from central.parking.payments import SERVICE, WALLET
from central.parking.rules import renewal_settings
from central.parking.tables import parking_passes
from domain import parking as dp
from domain.money import Money
from domain.parking import PassPeriod

log = logging.getLogger("central.parking.renewal")

ACTOR = "system:parking-renewal"

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "parking_renewal_reminder": {
        "en": (
            "Parking pass renews soon",
            "Unit {unit}: your {period} parking pass ends on {until}. It renews itself on "
            "{renews} for {price} from the parking wallet, which holds {balance}.",
        ),
        "zh_CN": (
            "停车月卡即将续费",
            "{unit}户：您的停车卡于{until}到期，将于{renews}自动从停车钱包扣费{price}续期，"
            "钱包余额{balance}。",
        ),
    },
    "parking_renewal_failed": {
        "en": (
            "Parking pass not renewed",
            "Unit {unit}: your parking pass could not renew: the parking wallet holds "
            "{balance}, the next {period} costs {price}. It ends on {until}. Top up to keep it.",
        ),
        "zh_CN": (
            "停车卡续费失败",
            "{unit}户：停车钱包余额{balance}，不足以支付{price}的续期费用，停车卡将于{until}"
            "到期。请充值以保留。",
        ),
    },
}


@dataclass
class RenewalReport:
    renewed: list[str] = field(default_factory=list)
    reminded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    lapsed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "renewed": len(self.renewed),
            "reminded": len(self.reminded),
            "failed": len(self.failed),
            "lapsed": len(self.lapsed),
        }


def renewal_key(pass_id: str, period_start: date) -> str:
    return f"parking-renewal:{pass_id}:{period_start.isoformat()}"


def _notify(
    conn: Connection,
    *,
    kind: str,
    unit_id: int,
    dedupe: str,
    facts: dict[str, str],
    now: datetime,
) -> int:
    people = conn.execute(
        select(residents.c.id, residents.c.phone, residents.c.email, residents.c.language).where(
            residents.c.unit_id == unit_id, residents.c.moved_out_at.is_(None)
        )
    ).all()
    queued = 0
    for person in people:
        language = person.language if person.language in TEMPLATES[kind] else "en"
        subject, body = (t.format(**facts) for t in TEMPLATES[kind][language])
        for channel, address in (("sms", person.phone), ("email", person.email), ("app", "")):
            if channel != "app" and not address:
                continue
            key = f"{dedupe}:{person.id}:{channel}"
            if conn.execute(
                select(notifications.c.id).where(notifications.c.dedupe_key == key)
            ).first():
                continue
            conn.execute(
                insert(notifications).values(
                    dedupe_key=key,
                    unit_id=unit_id,
                    resident_id=person.id,
                    channel=channel,
                    kind=kind,
                    language=language,
                    subject=subject,
                    body=body,
                    status="pending",
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            queued += 1
    return queued


def _available(conn: Connection, unit: str) -> int:
    wallet = acc.wallet(conn, unit, WALLET)
    return wallet_available(conn, wallet.id)


def wallet_available(conn: Connection, account_id: int) -> int:
    row = conn.execute(
        select(accounts.c.balance, accounts.c.held).where(accounts.c.id == account_id)
    ).one()
    return int(row.balance) - int(row.held)


def renew_one(conn: Connection, estate: Estate, pass_id: str, now: datetime) -> str | None:
    """Remind, renew, report or lapse one pass; returns what happened, or None."""
    row = conn.execute(
        select(parking_passes, units.c.code.label("unit"))
        .join(units, units.c.id == parking_passes.c.unit_id)
        .where(parking_passes.c.id == pass_id)
    ).one()
    if row.status != "active" or not row.auto_renew:
        return None
    settings = renewal_settings(conn)
    today = now.astimezone(estate.zone).date()
    until = date.fromisoformat(row.valid_until)
    period = PassPeriod(row.period)
    start, end = dp.next_term(until, period)
    key = renewal_key(pass_id, start)
    money = {
        "unit": row.unit,
        "period": period.value,
        "until": until.isoformat(),
        "renews": (until - timedelta(days=settings["renew_days_before"])).isoformat(),
        "price": Money(int(row.price), estate.currency).format(),
    }
    if dp.renewal_due(until, today, settings["renew_days_before"]):
        if conn.execute(
            select(transactions.c.id).where(transactions.c.idempotency_key == key)
        ).first():
            # Charged by an earlier run that did not get to extend the pass.
            conn.execute(
                update(parking_passes)
                .where(parking_passes.c.id == pass_id)
                .values(valid_until=end.isoformat())
            )
            return "renewed"
        ctx = Context(estate=estate, idempotency_key=key, actor=ACTOR, now=now)
        savepoint = conn.begin_nested()
        try:
            if row.price > 0:
                ops.charge(
                    conn,
                    ctx,
                    unit=row.unit,
                    purpose=WALLET,
                    amount=int(row.price),
                    currency=estate.currency,
                    service=SERVICE,
                    memo=f"parking pass {period.value} {start.isoformat()}",
                )
        except Refused as err:
            savepoint.rollback()
            if today > until:
                conn.execute(
                    update(parking_passes)
                    .where(parking_passes.c.id == pass_id)
                    .values(status="lapsed")
                )
                return "lapsed"
            money["balance"] = Money(_available(conn, row.unit), estate.currency).format()
            _notify(
                conn,
                kind="parking_renewal_failed",
                unit_id=row.unit_id,
                dedupe=f"parking-failed:{pass_id}:{start.isoformat()}",
                facts=money,
                now=now,
            )
            log.info("renewal refused", extra={"unit": row.unit, "reason": err.code})
            return "failed"
        savepoint.commit()
        conn.execute(
            update(parking_passes)
            .where(parking_passes.c.id == pass_id)
            .values(valid_until=end.isoformat())
        )
        return "renewed"
    if dp.reminder_due(until, today, settings["remind_days_before"]):
        money["balance"] = Money(_available(conn, row.unit), estate.currency).format()
        queued = _notify(
            conn,
            kind="parking_renewal_reminder",
            unit_id=row.unit_id,
            dedupe=f"parking-remind:{pass_id}:{start.isoformat()}",
            facts=money,
            now=now,
        )
        return "reminded" if queued else None
    return None


def run_renewals(db: Database, estate: Estate, *, now: datetime) -> RenewalReport:
    """The job: every active self-renewing pass, each in its own transaction."""
    with db.read() as conn:
        ids = (
            conn.execute(
                select(parking_passes.c.id).where(
                    parking_passes.c.status == "active", parking_passes.c.auto_renew.is_(True)
                )
            )
            .scalars()
            .all()
        )
    report = RenewalReport()
    for pass_id in ids:
        with db.write() as conn:
            outcome = renew_one(conn, estate, pass_id, now)
        if outcome is not None:
            getattr(report, outcome).append(pass_id)
    return report


def run_renewals_in(conn: Connection, estate: Estate, *, now: datetime) -> RenewalReport:
    """The job inside one caller's transaction (the API's manual run), a savepoint per pass."""
    ids = (
        conn.execute(
            select(parking_passes.c.id).where(
                parking_passes.c.status == "active", parking_passes.c.auto_renew.is_(True)
            )
        )
        .scalars()
        .all()
    )
    report = RenewalReport()
    for pass_id in ids:
        outcome = renew_one(conn, estate, pass_id, now)
        if outcome is not None:
            getattr(report, outcome).append(pass_id)
    return report
