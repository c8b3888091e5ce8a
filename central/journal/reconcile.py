"""A terminal's day: its journal entries against what the ledger applied.

Every difference is explained: an entry the ledger refused (its reason), an
entry made offline and applied on a later day, a ledger transaction of the
terminal that came by another path than its journal, an event that moves no money.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, and_, select

from central.cash import unapplied
from central.db.schema import transactions
from central.estate.settings import Estate
from central.journal import service
from central.journal.tables import journal_entries
from domain import journal as dj


def day_bounds(day: date, estate: Estate) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=estate.zone).astimezone(UTC)
    return start, start + timedelta(days=1)


def _amount(body: dict[str, Any]) -> int:
    value = body.get("amount", 0)
    return value if isinstance(value, int) else 0


def server_report(
    conn: Connection, *, terminal_id: str, day: date, estate: Estate
) -> dict[str, Any]:
    start, end = day_bounds(day, estate)
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    rows = conn.execute(
        select(journal_entries)
        .where(
            journal_entries.c.terminal_id == terminal_id,
            journal_entries.c.server_ms >= start_ms,
            journal_entries.c.server_ms < end_ms,
        )
        .order_by(journal_entries.c.seq)
    ).all()
    differences: list[dict[str, Any]] = []
    journal_totals: dict[str, int] = {}
    applied_totals: dict[str, int] = {}
    for r in rows:
        body = json.loads(r.body)
        amount = _amount(body)
        if r.kind in dj.LEDGER_KINDS:
            journal_totals[r.kind] = journal_totals.get(r.kind, 0) + amount
        if r.verdict == "rejected":
            explanation = f"{r.code}: {r.message}"
            if r.kind == "top_up" and unapplied.is_cash(body):
                explanation += (
                    "; the cash is in the kiosk's box: credit it to the household's wallet "
                    f"(POST /v1/cash/unapplied/{terminal_id}/{r.seq}/credit, or prepaid "
                    f"central cash credit {terminal_id} {r.seq} --unit UNIT --wallet WALLET)"
                )
            differences.append(
                {
                    "seq": r.seq,
                    "kind": r.kind,
                    "amount": amount,
                    "difference": "rejected",
                    "explanation": explanation,
                }
            )
            continue
        if r.kind in dj.LEDGER_KINDS:
            applied_totals[r.kind] = applied_totals.get(r.kind, 0) + amount
            if not start <= r.received_at < end:
                differences.append(
                    {
                        "seq": r.seq,
                        "kind": r.kind,
                        "amount": amount,
                        "transaction_id": r.transaction_id,
                        "difference": "applied_another_day",
                        "explanation": "made offline; the ledger applied it when it arrived, "
                        f"at {r.received_at.isoformat(timespec='seconds')}",
                    }
                )
    direct = conn.execute(
        select(transactions.c.id, transactions.c.kind, transactions.c.idempotency_key)
        .where(
            and_(
                transactions.c.terminal_id == terminal_id,
                transactions.c.created_at >= start,
                transactions.c.created_at < end,
            )
        )
        .order_by(transactions.c.created_at)
    ).all()
    prefix = dj.ledger_key(terminal_id, 0)[:-1]
    for t in direct:
        if not str(t.idempotency_key).startswith(prefix):
            differences.append(
                {
                    "transaction_id": t.id,
                    "kind": t.kind,
                    "difference": "not_from_journal",
                    "explanation": "posted by this terminal directly through the ledger API, "
                    "not through its journal",
                }
            )
    head_seq, _ = service.head(conn, terminal_id)
    return {
        "terminal_id": terminal_id,
        "day": day.isoformat(),
        "timezone": estate.timezone,
        "head_seq": head_seq,
        "entries": len(rows),
        "events": sum(r.kind not in dj.LEDGER_KINDS for r in rows),
        "rejected": sum(r.verdict == "rejected" for r in rows),
        "journal_totals": journal_totals,
        "applied_totals": applied_totals,
        "differences": differences,
        "incidents": [
            i for i in service.incidents(conn, terminal_id) if i["seen_at"][:10] == day.isoformat()
        ],
    }
