"""Deciding alone: offline authorisation against the snapshot and the journal.

A charge offline is allowed when every one of these holds (the first that fails
is the refusal's reason, a value, not an exception):

1. the credential is known to the snapshot and not revoked (a revoked card is
   refused as soon as the snapshot revoking it has arrived);
2. the amount is within the server's ``per_transaction`` limit;
3. this credential's offline charges today, plus this one, are within
   ``per_credential_per_day``;
4. this terminal's offline charges the server has not yet confirmed, plus this
   one, are within ``per_terminal`` (the terminal's total exposure);
5. the wallet's available money in the snapshot, minus what this terminal charged
   it since the snapshot was built (entries after ``journal_head``), covers it.

Cash top-ups are always accepted offline (``accept_cash``), shown as pending
until the server applies them. QR payments need the payment provider, so they
are offered only online (``payment_methods``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain import journal as dj
from offline_queue.journal import Journal
from offline_queue.snapshot import Snapshot

log = logging.getLogger("offline_queue.authorise")


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str  # "ok" or why not: unknown_credential, revoked, over_per_transaction, ...
    unit: str | None = None
    entry: dj.Entry | None = None  # the journalled charge, when allowed


def payment_methods(*, online: bool) -> tuple[str, ...]:
    """What the screen may offer: cash always, QR only with the network (the provider)."""
    return ("cash", "provider") if online else ("cash",)


def _offline_charges(journal: Journal, *, after: int) -> list[dj.Entry]:
    return [e for e in journal.entries(after=after) if e.kind == "charge" and e.body.get("offline")]


def decide(
    snapshot: Snapshot,
    journal: Journal,
    *,
    credential_kind: str,
    credential: str,
    purpose: str,
    amount: int,
    now_ms: int | None = None,
) -> Decision:
    digest = snapshot.credential_hash(credential_kind, credential)
    if snapshot.is_revoked(digest):
        return Decision(False, "revoked")
    unit = snapshot.unit_of(digest)
    if unit is None:
        return Decision(False, "unknown_credential")
    limits = snapshot.limits
    if amount <= 0:
        return Decision(False, "invalid_amount", unit)
    if amount > limits.get("per_transaction", 0):
        return Decision(False, "over_per_transaction", unit)
    now_ms = now_ms if now_ms is not None else int(journal.clock() * 1000)
    zone = ZoneInfo(snapshot.timezone)
    local = datetime.fromtimestamp((now_ms + journal.clock_offset_ms) / 1000, UTC).astimezone(zone)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    start_ms = int(day_start.timestamp() * 1000)
    end_ms = int((day_start + timedelta(days=1)).timestamp() * 1000)
    row = journal.conn.execute(
        "SELECT COALESCE(SUM(json_extract(body, '$.amount')), 0) FROM entries "
        "WHERE kind = 'charge' AND json_extract(body, '$.offline') "
        "AND json_extract(body, '$.credential') = ? AND server_ms >= ? AND server_ms < ?",
        (digest, start_ms, end_ms),
    ).fetchone()
    if int(row[0]) + amount > limits.get("per_credential_per_day", 0):
        return Decision(False, "over_per_credential_per_day", unit)
    # Everything this terminal charged offline that the server may not have counted yet.
    recent = _offline_charges(journal, after=min(journal.synced_seq, snapshot.journal_head))
    exposure = sum(int(e.body["amount"]) for e in recent if e.seq > journal.synced_seq)
    if exposure + amount > limits.get("per_terminal", 0):
        return Decision(False, "over_per_terminal", unit)
    available = snapshot.available(unit, purpose)
    if available is None:
        return Decision(False, "wallet_not_served", unit)
    since_snapshot = sum(
        int(e.body["amount"])
        for e in recent
        if e.seq > snapshot.journal_head
        and e.body.get("unit") == unit
        and e.body.get("wallet") == purpose
    )
    if available - since_snapshot < amount:
        return Decision(False, "insufficient_funds", unit)
    return Decision(True, "ok", unit)


def charge_offline(
    snapshot: Snapshot,
    journal: Journal,
    *,
    credential_kind: str,
    credential: str,
    purpose: str,
    amount: int,
    currency: str,
    service: str,
) -> Decision:
    """Decide, and when allowed journal the charge before anyone is told "done"."""
    decision = decide(
        snapshot,
        journal,
        credential_kind=credential_kind,
        credential=credential,
        purpose=purpose,
        amount=amount,
    )
    terminal = journal.identity.terminal_id
    if not decision.allowed:
        log.info(
            "offline charge refused",
            extra={"terminal": terminal, "unit": decision.unit, "reason": decision.reason},
        )
        return decision
    assert decision.unit is not None
    body: dict[str, Any] = {
        "unit": decision.unit,
        "wallet": purpose,
        "amount": amount,
        "currency": currency,
        "service": service,
        "credential": snapshot.credential_hash(credential_kind, credential),
        "offline": True,
    }
    entry = journal.append("charge", body)
    return Decision(True, "ok", decision.unit, entry)


def accept_cash(
    journal: Journal, *, unit: str, purpose: str, amount: int, currency: str
) -> dj.Entry:
    """A cash top-up: always accepted, online or not; pending until the server applies it."""
    return journal.append(
        "top_up",
        {
            "unit": unit,
            "wallet": purpose,
            "amount": amount,
            "currency": currency,
            "method": "cash",
            "source": journal.identity.terminal_id,
        },
    )
