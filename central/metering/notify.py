"""Low-balance warnings: one per threshold crossing, through an outbox with retries.

A wallet crossing one of its utility's thresholds downwards puts one message per
resident and channel (SMS if they gave a phone, e-mail if an address, always the
in-app list) in the ``notifications`` outbox, in the resident's language, with a
days-left estimate from the last week's usage. The crossing is remembered
(``wallet_alerts``) until the balance climbs back above the threshold, so a
wallet hovering below it warns once. :func:`deliver_due` sends what is due
through the channels and retries failures with a growing delay.
"""

from __future__ import annotations

import logging
import smtplib
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Connection, bindparam, func, insert, select, update

from central.db.schema import accounts, postings, residents, transactions
from central.metering.tables import notifications, wallet_alerts
from domain.money import Money

if TYPE_CHECKING:
    from central.metering.environment import Environment

log = logging.getLogger("central.metering.notify")

MAX_ATTEMPTS = 8

TEMPLATES: dict[str, tuple[str, str]] = {
    "en": (
        "Low {utility} balance",
        "Unit {unit}: your {utility} balance is {balance}, below {threshold}. "
        "{days_left}Top up at the lobby kiosk or in the app.",
    ),
    "zh_CN": (
        "{utility_zh}余额不足",
        "{unit}户：您的{utility_zh}余额为{balance}，已低于{threshold}。{days_left_zh}"
        "请在大堂自助机或手机上充值。",
    ),
}
UTILITY_ZH = {"electricity": "电费", "water": "水费", "gas": "燃气费"}


class Channel(Protocol):
    """Delivers one message; raises on failure (the outbox retries)."""

    name: str

    def send(self, *, to: str, subject: str, body: str, unit: str, resident_id: int) -> None: ...


class LogChannel:
    """Development: log that a message would go out, naming the unit and resident id only."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, *, to: str, subject: str, body: str, unit: str, resident_id: int) -> None:
        log.info(
            "notification", extra={"channel": self.name, "unit": unit, "resident_id": resident_id}
        )


class InAppChannel:
    """The in-app list is the outbox itself: a row marked sent is in the resident's list."""

    name = "app"

    def send(self, *, to: str, subject: str, body: str, unit: str, resident_id: int) -> None:
        return None


class SmsGateway:
    """SMS through an HTTP gateway: POST JSON ``{"to", "text"}`` with a bearer key."""

    name = "sms"

    def __init__(self, url: str, api_key: str, timeout_s: float = 10) -> None:
        self.url, self.api_key, self.timeout_s = url, api_key, timeout_s

    def send(self, *, to: str, subject: str, body: str, unit: str, resident_id: int) -> None:
        import json

        request = urllib.request.Request(
            self.url,
            data=json.dumps({"to": to, "text": body}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
            if response.status >= 300:
                raise OSError(f"SMS gateway answered {response.status}")


class SmtpEmail:
    name = "email"

    def __init__(self, host: str, port: int, sender: str, timeout_s: float = 10) -> None:
        self.host, self.port, self.sender, self.timeout_s = host, port, sender, timeout_s

    def send(self, *, to: str, subject: str, body: str, unit: str, resident_id: int) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            smtp.send_message(message)


def development_channels() -> dict[str, Channel]:
    return {"sms": LogChannel("sms"), "email": LogChannel("email"), "app": InAppChannel()}


def daily_usage(conn: Connection, account_id: int, now: datetime, days: int = 7) -> int:
    """Average usage charged to a wallet a day over the last ``days`` days (minor units)."""
    spent = conn.execute(
        select(func.coalesce(func.sum(postings.c.amount), 0))
        .join(transactions, transactions.c.id == postings.c.transaction_id)
        .where(
            postings.c.account_id == account_id,
            transactions.c.kind == "usage",
            transactions.c.created_at >= now - timedelta(days=days),
        )
    ).scalar_one()
    return -int(spent) // days


def check_wallets(
    conn: Connection,
    env: Environment,
    wallets: Sequence[tuple[str, str, int, int]],
    *,
    now: datetime,
) -> int:
    """Queue warnings for wallets (unit, utility, available, account id) crossing a threshold."""
    queued = 0
    if not wallets:
        return 0
    ids = [w[3] for w in wallets]
    below = {
        (r.account_id, r.threshold): r.below
        for r in conn.execute(select(wallet_alerts).where(wallet_alerts.c.account_id.in_(ids)))
    }
    fresh: list[dict[str, object]] = []
    flipped: list[dict[str, object]] = []
    for unit, utility, available, account_id in wallets:
        for threshold in env.policies[utility].low_thresholds:
            was = below.get((account_id, threshold))
            now_below = available < threshold
            if was is None:
                fresh.append(
                    {
                        "account_id": account_id,
                        "threshold": threshold,
                        "below": now_below,
                        "changed_at": now,
                    }
                )
            elif was != now_below:
                flipped.append({"a": account_id, "t": threshold, "b": now_below, "c": now})
            if now_below and not was:
                queued += _queue(conn, env, unit, utility, available, threshold, account_id, now)
    if fresh:
        conn.execute(insert(wallet_alerts), fresh)
    if flipped:
        conn.execute(
            update(wallet_alerts)
            .where(
                wallet_alerts.c.account_id == bindparam("a"),
                wallet_alerts.c.threshold == bindparam("t"),
            )
            .values(below=bindparam("b"), changed_at=bindparam("c")),
            flipped,
        )
    return queued


def rearm(conn: Connection, *, now: datetime) -> None:
    """A wallet back above a threshold (a top-up) may warn again when it next falls."""
    rows = conn.execute(
        select(wallet_alerts.c.account_id, wallet_alerts.c.threshold)
        .join(accounts, accounts.c.id == wallet_alerts.c.account_id)
        .where(
            wallet_alerts.c.below.is_(True),
            accounts.c.balance - accounts.c.held >= wallet_alerts.c.threshold,
        )
    ).all()
    for r in rows:
        conn.execute(
            update(wallet_alerts)
            .where(
                wallet_alerts.c.account_id == r.account_id,
                wallet_alerts.c.threshold == r.threshold,
            )
            .values(below=False, changed_at=now)
        )


def _queue(
    conn: Connection,
    env: Environment,
    unit: str,
    utility: str,
    available: int,
    threshold: int,
    account_id: int,
    now: datetime,
) -> int:
    per_day = daily_usage(conn, account_id, now)
    days = None if per_day <= 0 else max(0, available) // per_day
    currency = env.estate.currency
    facts: Mapping[str, str] = {
        "unit": unit,
        "utility": utility,
        "utility_zh": UTILITY_ZH.get(utility, utility),
        "balance": Money(available, currency).format(),
        "threshold": Money(threshold, currency).format(),
        "days_left": "" if days is None else f"At your recent usage that lasts about {days} days. ",
        "days_left_zh": "" if days is None else f"按近期用量约可用{days}天。",
    }
    people = conn.execute(
        select(residents.c.id, residents.c.phone, residents.c.email, residents.c.language)
        .join_from(residents, accounts, accounts.c.unit_id == residents.c.unit_id)
        .where(accounts.c.id == account_id, residents.c.moved_out_at.is_(None))
    ).all()
    unit_id = conn.execute(select(accounts.c.unit_id).where(accounts.c.id == account_id)).scalar()
    count = 0
    crossing = uuid.uuid4().hex  # once per crossing is wallet_alerts' job; this names it
    for person in people:
        language = person.language if person.language in TEMPLATES else "en"
        subject, body = (t.format(**facts) for t in TEMPLATES[language])
        for channel, address in (("sms", person.phone), ("email", person.email), ("app", "")):
            if channel != "app" and not address:
                continue
            conn.execute(
                insert(notifications).values(
                    dedupe_key=f"low:{account_id}:{threshold}:{crossing}:{person.id}:{channel}",
                    unit_id=unit_id,
                    resident_id=person.id,
                    channel=channel,
                    kind="low_balance",
                    language=language,
                    subject=subject,
                    body=body,
                    status="pending",
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            count += 1
    return count


def deliver_due(
    conn: Connection, channels: Mapping[str, Channel], *, now: datetime, limit: int = 200
) -> int:
    """Send due messages; a failure is retried later (1, 2, 4, ... minutes), then given up."""
    from central.db.schema import units

    rows = conn.execute(
        select(notifications, residents.c.phone, residents.c.email, units.c.code)
        .join(residents, residents.c.id == notifications.c.resident_id)
        .join(units, units.c.id == notifications.c.unit_id)
        .where(notifications.c.status == "pending", notifications.c.next_attempt_at <= now)
        .order_by(notifications.c.id)
        .limit(limit)
    ).all()
    sent = 0
    for r in rows:
        channel = channels.get(r.channel)
        to = {"sms": r.phone, "email": r.email}.get(r.channel) or ""
        try:
            if channel is None:
                raise LookupError(f"no {r.channel} channel configured")
            channel.send(
                to=to, subject=r.subject, body=r.body, unit=r.code, resident_id=r.resident_id
            )
        except Exception as err:
            attempts = r.attempts + 1
            conn.execute(
                update(notifications)
                .where(notifications.c.id == r.id)
                .values(
                    attempts=attempts,
                    status="failed" if attempts >= MAX_ATTEMPTS else "pending",
                    next_attempt_at=now + timedelta(minutes=2 ** (attempts - 1)),
                    error=str(err)[:200],
                )
            )
            continue
        conn.execute(
            update(notifications)
            .where(notifications.c.id == r.id)
            .values(status="sent", sent_at=now, attempts=r.attempts + 1)
        )
        sent += 1
    return sent
