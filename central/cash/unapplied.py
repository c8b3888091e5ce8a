"""Cash a kiosk took for a top-up the ledger refused, and the office crediting it.

A kiosk credits a note once the acceptor has stacked it, and journals the top-up
before it tells the resident "done"; the server may still refuse the entry when
it arrives (a unit or wallet the kiosk knew from its offline snapshot that the
server no longer has). The cash is in the box all the same, and in the kiosk's
count of it: the count relieves ``cash_box:<kiosk>`` of that count, so the box
account is left holding what the ledger never took in.

``credit`` posts it, once per journal entry (ledger key
``cash_unapplied:<kiosk>:<seq>``), from ``cash_box:<kiosk>`` into the wallet the
office names (the household's current one; a refund at the desk then follows the
wallet's own path). Only entries the server accepted into the kiosk's signed chain
are listed: an unsigned or edited entry never reaches the journal's table.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select

from central.cash.service import is_int
from central.db.schema import transactions
from central.errors import NotFound, Refused
from central.journal.tables import journal_entries
from central.ledger import operations as ops
from central.ledger.plans import Context
from domain.money import Money

KIND = "cash_unapplied"


def ledger_key(terminal_id: str, seq: int) -> str:
    """The credit's idempotency key in the ledger: one credit per refused entry, ever."""
    return f"{KIND}:{terminal_id}:{seq}"


class AlreadyCredited(Refused):
    """The refused top-up's cash was credited before; that credit stands."""

    code = "already_credited"


def is_cash(body: dict[str, Any]) -> bool:
    """Whether a top-up entry's body took cash: method cash, a positive whole amount."""
    amount = body.get("amount")
    return body.get("method") == "cash" and is_int(amount) and amount > 0


def _view(row: Any, credited: Any) -> dict[str, Any]:
    body = json.loads(row.body)
    return {
        "terminal_id": row.terminal_id,
        "seq": int(row.seq),
        "amount": int(body["amount"]),
        "currency": body.get("currency"),
        "unit": body.get("unit"),
        "wallet": body.get("wallet"),
        "refused": {"code": row.code, "message": row.message},
        "received_at": row.received_at.isoformat(),
        "cash_box": f"cash_box:{row.terminal_id}",
        "credited": None
        if credited is None
        else {
            "transaction_id": credited.id,
            "at": credited.created_at.isoformat(),
            "by": credited.actor,
            "memo": credited.memo,
        },
    }


def _credits(conn: Connection, keys: list[str]) -> dict[str, Any]:
    if not keys:
        return {}
    rows = conn.execute(
        select(
            transactions.c.id,
            transactions.c.idempotency_key,
            transactions.c.created_at,
            transactions.c.actor,
            transactions.c.memo,
        ).where(transactions.c.idempotency_key.in_(keys))
    ).all()
    return {r.idempotency_key: r for r in rows}


def list_unapplied(
    conn: Connection, *, terminal: str | None = None, open_only: bool = False, limit: int = 100
) -> list[dict[str, Any]]:
    """Cash top-ups the ledger refused, newest first, each with its credit (or None)."""
    query = (
        select(journal_entries)
        .where(journal_entries.c.kind == "top_up", journal_entries.c.verdict == "rejected")
        .order_by(journal_entries.c.received_at.desc(), journal_entries.c.seq.desc())
    )
    if terminal is not None:
        query = query.where(journal_entries.c.terminal_id == terminal)
    rows = [r for r in conn.execute(query) if is_cash(json.loads(r.body))]
    credits = _credits(conn, [ledger_key(r.terminal_id, int(r.seq)) for r in rows])
    out = [_view(r, credits.get(ledger_key(r.terminal_id, int(r.seq)))) for r in rows]
    if open_only:
        out = [u for u in out if u["credited"] is None]
    return out[:limit]


def _entry(conn: Connection, terminal_id: str, seq: int) -> Any:
    row = conn.execute(
        select(journal_entries).where(
            journal_entries.c.terminal_id == terminal_id, journal_entries.c.seq == seq
        )
    ).first()
    if row is None or row.kind != "top_up" or row.verdict != "rejected":
        raise NotFound(
            f"{terminal_id} has no refused cash top-up at journal entry {seq}; "
            "GET /v1/cash/unapplied (or prepaid central cash unapplied) lists them",
            code="unknown_unapplied",
        )
    if not is_cash(json.loads(row.body)):
        raise NotFound(
            f"journal entry {seq} of {terminal_id} is not a cash top-up: no cash to credit",
            code="unknown_unapplied",
        )
    return row


def credit(
    conn: Connection, ctx: Context, *, terminal_id: str, seq: int, unit: str, wallet: str
) -> dict[str, Any]:
    """Post a refused cash top-up's amount from the kiosk's cash box into ``wallet`` of
    ``unit``, once (``already_credited`` after that); the entry, with its credit."""
    row = _entry(conn, terminal_id, seq)
    key = ledger_key(terminal_id, seq)
    done = _credits(conn, [key]).get(key)
    if done is not None:
        raise AlreadyCredited(
            f"the cash of {terminal_id}'s entry {seq} was credited by {done.actor} in "
            f"transaction {done.id}; a credit stands"
        )
    body = json.loads(row.body)
    amount, currency = int(body["amount"]), str(body.get("currency"))
    memo = (
        f"cash taken by {terminal_id} (journal entry {seq}, refused: {row.code}), "
        f"{Money(amount, ctx.estate.currency).format()} credited by {ctx.actor}"
    )
    posting = Context(ctx.estate, key, ctx.actor, now=ctx.now)
    ops.top_up(
        conn,
        posting,
        unit=unit,
        purpose=wallet,
        amount=amount,
        currency=currency,
        method="cash",
        source=terminal_id,
        memo=memo,
    )
    return _view(row, _credits(conn, [key])[key])
