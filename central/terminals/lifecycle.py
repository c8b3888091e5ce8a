"""Decommissioning and revoking a terminal.

Decommission: from that moment the terminal may start nothing new, but its journal
may still be uploaded, up to the last entry it holds, so no cash is stranded on it.
The journal sync endpoints call the hooks here:

- ``JOURNAL_PATHS``: the paths a decommissioning terminal may still call (journal
  upload, the "synced up to" report, heartbeats). A journal endpoint registers its
  path with ``register_journal_path``.
- ``journal_admits(conn, terminal_id, seq)``: may this entry still land?
- ``journal_synced(conn, terminal_id, seq)``: the server holds every entry up to
  ``seq``; when that reaches the terminal's last entry its keys die.

Revoke (a stolen or compromised terminal): its keys die at once.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from central.db.types import utcnow
from central.errors import NotFound, Refused
from central.terminals.tables import terminal_heartbeats, terminals

log = logging.getLogger("central.terminals")

JOURNAL_PATHS: list[re.Pattern[str]] = [
    re.compile(r"^/v1/ledger/batch$"),
    re.compile(r"^/v1/terminals/[^/]+/heartbeat$"),
    re.compile(r"^/v1/terminals/[^/]+/journal(/.*)?$"),
]


def register_journal_path(pattern: str) -> None:
    """Let a decommissioning terminal still call paths matching ``pattern`` (a regex)."""
    JOURNAL_PATHS.append(re.compile(pattern))


def is_journal_path(path: str) -> bool:
    return any(p.match(path) for p in JOURNAL_PATHS)


def _row(conn: Connection, terminal_id: str) -> Any:
    row = conn.execute(select(terminals).where(terminals.c.id == terminal_id)).first()
    if row is None:
        raise NotFound(f"there is no terminal {terminal_id!r}", code="unknown_terminal")
    return row


def decommission(
    conn: Connection,
    terminal_id: str,
    *,
    last_entry: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Stop the terminal starting anything new; its journal may still land.

    ``last_entry`` is the terminal's last journal sequence number; by default the
    head its latest heartbeat reported. With none known (a terminal that never
    journalled anything), or one already synced, its keys die at once.
    """
    now = now or utcnow()
    row = _row(conn, terminal_id)
    if row.status in ("decommissioned", "revoked"):
        raise Refused(f"{terminal_id} is already {row.status}", code="already_retired")
    if last_entry is None:
        last_entry = conn.execute(
            select(terminal_heartbeats.c.journal_head)
            .where(terminal_heartbeats.c.terminal_id == terminal_id)
            .order_by(terminal_heartbeats.c.id.desc())
            .limit(1)
        ).scalar_one_or_none()
    synced = row.journal_synced_seq
    done = last_entry is None or last_entry <= 0 or (synced is not None and synced >= last_entry)
    conn.execute(
        update(terminals)
        .where(terminals.c.id == terminal_id)
        .values(
            status="decommissioned" if done else "decommissioning",
            decommissioned_at=now,
            journal_last_seq=last_entry,
            keys_dead_at=now if done else None,
        )
    )
    log.warning(
        "terminal decommissioned",
        extra={"terminal": terminal_id, "journal_last_seq": last_entry, "keys_dead": done},
    )
    return status_of(conn, terminal_id)


def revoke(conn: Connection, terminal_id: str, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    row = _row(conn, terminal_id)
    if row.status == "revoked":
        return status_of(conn, terminal_id)
    conn.execute(
        update(terminals)
        .where(terminals.c.id == terminal_id)
        .values(status="revoked", keys_dead_at=now, decommissioned_at=row.decommissioned_at or now)
    )
    log.warning("terminal revoked", extra={"terminal": terminal_id})
    return status_of(conn, terminal_id)


def journal_admits(conn: Connection, terminal_id: str, seq: int) -> bool:
    """Whether the journal entry ``seq`` of ``terminal_id`` may still land."""
    row = _row(conn, terminal_id)
    if row.status == "active":
        return True
    if row.status == "decommissioning":
        return row.journal_last_seq is None or seq <= row.journal_last_seq
    return False


def journal_synced(
    conn: Connection, terminal_id: str, seq: int, *, now: datetime | None = None
) -> dict[str, Any]:
    """Record that every entry up to ``seq`` is on the server; finish a decommission."""
    row = _row(conn, terminal_id)
    values: dict[str, Any] = {"journal_synced_seq": max(seq, row.journal_synced_seq or 0)}
    if (
        row.status == "decommissioning"
        and row.journal_last_seq is not None
        and seq >= row.journal_last_seq
    ):
        values.update(status="decommissioned", keys_dead_at=now or utcnow())
        log.warning(
            "terminal journal complete: keys dead",
            extra={"terminal": terminal_id, "journal_last_seq": row.journal_last_seq},
        )
    conn.execute(update(terminals).where(terminals.c.id == terminal_id).values(**values))
    return status_of(conn, terminal_id)


def status_of(conn: Connection, terminal_id: str) -> dict[str, Any]:
    row = _row(conn, terminal_id)
    return {
        "terminal_id": row.id,
        "status": row.status,
        "decommissioned_at": row.decommissioned_at.isoformat() if row.decommissioned_at else None,
        "journal_last_seq": row.journal_last_seq,
        "journal_synced_seq": row.journal_synced_seq,
        "keys_dead_at": row.keys_dead_at.isoformat() if row.keys_dead_at else None,
    }
