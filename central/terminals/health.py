"""Heartbeats in, fleet health out: online, degraded or offline.

- offline: no heartbeat for ``OFFLINE_AFTER_MISSED`` heartbeat intervals (or never one);
- degraded: a device failing, the journal backlog growing over the last heartbeats
  (or above ``BACKLOG_LIMIT``), or the terminal's clock more than 2 minutes off;
- online: otherwise.

A decommissioned or revoked terminal is listed with that status and no health.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from central.db.types import utcnow
from central.terminals import config as terminal_config
from central.terminals.tables import terminal_heartbeats, terminals

OFFLINE_AFTER_MISSED = 3
CLOCK_LIMIT_S = 120.0
BACKLOG_LIMIT = 1000
GROWING_OVER = 3  # heartbeats in a row with a rising backlog
KEEP_HEARTBEATS = 20


@dataclass(frozen=True)
class Heartbeat:
    software_version: str
    config_version: int | None
    journal_backlog: int
    journal_head: int | None
    clock: float  # the terminal's own clock, unix seconds, uncorrected
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class TerminalHealth:
    terminal_id: str
    terminal_type: str
    location: str
    status: str  # lifecycle: active | decommissioning | decommissioned | revoked
    state: str  # online | degraded | offline | retired
    reasons: list[str]
    last_heartbeat_at: str | None
    software_version: str | None
    config_version_acked: int | None
    config_version_latest: int
    journal_backlog: int | None
    clock_offset_s: float | None
    devices: dict[str, dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def record(
    conn: Connection, terminal_id: str, beat: Heartbeat, *, now: datetime | None = None
) -> dict[str, Any]:
    """Store a heartbeat; answer what the terminal should know (latest config, time)."""
    now = now or utcnow()
    conn.execute(
        insert(terminal_heartbeats).values(
            terminal_id=terminal_id,
            received_at=now,
            clock_offset_s=round(beat.clock - now.timestamp(), 3),
            software_version=beat.software_version[:32],
            config_version=beat.config_version,
            journal_backlog=beat.journal_backlog,
            journal_head=beat.journal_head,
            devices=json.dumps(beat.devices, sort_keys=True),
        )
    )
    conn.execute(
        update(terminals).where(terminals.c.id == terminal_id).values(last_heartbeat_at=now)
    )
    keep = (
        select(terminal_heartbeats.c.id)
        .where(terminal_heartbeats.c.terminal_id == terminal_id)
        .order_by(terminal_heartbeats.c.id.desc())
        .limit(KEEP_HEARTBEATS)
    )
    conn.execute(
        delete(terminal_heartbeats).where(
            terminal_heartbeats.c.terminal_id == terminal_id,
            terminal_heartbeats.c.id.not_in(keep),
        )
    )
    version, _ = terminal_config.latest(conn, terminal_id)
    return {"config_version": version, "server_time": now.timestamp()}


def classify(
    *,
    now: datetime,
    last_heartbeat_at: datetime | None,
    interval_s: float,
    recent: Sequence[Any],
) -> tuple[str, list[str]]:
    """``(state, reasons)`` from the newest-first ``recent`` heartbeat rows."""
    if last_heartbeat_at is None or not recent:
        return "offline", ["no heartbeat received yet"]
    silent = (now - last_heartbeat_at).total_seconds()
    if silent > OFFLINE_AFTER_MISSED * interval_s:
        return "offline", [f"no heartbeat for {silent:.0f} s (every {interval_s:g} s expected)"]
    reasons: list[str] = []
    latest = recent[0]
    for name, device in sorted(json.loads(latest.devices).items()):
        if not device.get("ok", True):
            detail = device.get("detail") or device.get("state") or "failing"
            reasons.append(f"{name} failing: {detail}")
    backlogs = [row.journal_backlog for row in recent[:GROWING_OVER]]
    if latest.journal_backlog > BACKLOG_LIMIT:
        reasons.append(f"journal backlog {latest.journal_backlog} entries")
    elif len(backlogs) == GROWING_OVER and all(a > b for a, b in pairwise(backlogs)):
        reasons.append(f"journal backlog growing: {', '.join(map(str, reversed(backlogs)))}")
    if abs(latest.clock_offset_s) > CLOCK_LIMIT_S:
        reasons.append(f"clock off by {latest.clock_offset_s:+.0f} s")
    return ("degraded" if reasons else "online"), reasons


def fleet(
    conn: Connection, *, now: datetime | None = None, terminal_id: str | None = None
) -> list[TerminalHealth]:
    now = now or utcnow()
    query = select(terminals).order_by(terminals.c.id)
    if terminal_id is not None:
        query = query.where(terminals.c.id == terminal_id)
    out = []
    for row in conn.execute(query).all():
        version, config = terminal_config.latest(conn, row.id)
        recent = conn.execute(
            select(terminal_heartbeats)
            .where(terminal_heartbeats.c.terminal_id == row.id)
            .order_by(terminal_heartbeats.c.id.desc())
            .limit(GROWING_OVER)
        ).all()
        if row.status in ("decommissioned", "revoked"):
            state, reasons = "retired", [f"{row.status}"]
        else:
            interval = float(
                config.get("heartbeat_interval_s", terminal_config.DEFAULT_HEARTBEAT_S)
            )
            state, reasons = classify(
                now=now, last_heartbeat_at=row.last_heartbeat_at, interval_s=interval, recent=recent
            )
            if row.status == "decommissioning":
                reasons.append("decommissioning: uploading its journal")
        latest = recent[0] if recent else None
        out.append(
            TerminalHealth(
                terminal_id=row.id,
                terminal_type=row.terminal_type,
                location=row.location,
                status=row.status,
                state=state,
                reasons=reasons,
                last_heartbeat_at=(
                    row.last_heartbeat_at.isoformat() if row.last_heartbeat_at else None
                ),
                software_version=latest.software_version if latest else None,
                config_version_acked=row.config_version_acked,
                config_version_latest=version,
                journal_backlog=latest.journal_backlog if latest else None,
                clock_offset_s=latest.clock_offset_s if latest else None,
                devices=json.loads(latest.devices) if latest else {},
            )
        )
    return out
