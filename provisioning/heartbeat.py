"""Heartbeats: what the server needs to tell online, degraded and offline apart.

Software and config versions, each device's state, the journal's backlog and
head, and this terminal's own clock (uncorrected: the server measures the drift).
Device states come from ``device_states.json`` in the terminal directory, which the
apps' device controllers keep current (``{name: {"ok", "state", "detail"}}``), or
from a fresh self-test of every device. The journal's head and backlog are read
(read-only) from the offline journal, ``journal.sqlite3`` in the same directory, or
from ``journal_state.json`` (``{"backlog", "head"}``) where there is none.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from importlib import metadata
from pathlib import Path
from typing import Any

from provisioning import config as terminal_config
from provisioning import doctor
from provisioning.client import SignedClient
from provisioning.identity import TerminalFiles


def software_version() -> str:
    try:
        return metadata.version("prepaid")
    except metadata.PackageNotFoundError:
        return "unknown"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def device_states(files: TerminalFiles, *, self_test: bool) -> dict[str, dict[str, Any]]:
    if self_test:
        devices = files.load().config.get("devices", {})
        return {
            c.name: {"ok": c.ok, "state": "ok" if c.ok else "failing", "detail": c.reason[:400]}
            for c in doctor.run(devices)
        }
    states = _read_json(files.dir / "device_states.json")
    return {
        str(name): {
            "ok": bool(s.get("ok", True)),
            "state": str(s.get("state", ""))[:64],
            "detail": str(s.get("detail", ""))[:400],
        }
        for name, s in states.items()
        if isinstance(s, dict)
    }


def journal_numbers(files: TerminalFiles) -> tuple[int, int | None]:
    """``(backlog, head)`` of this terminal's journal; ``(0, None)`` if it keeps none."""
    path = files.dir / "journal.sqlite3"
    if path.exists():
        try:
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as conn:
                head = int(conn.execute("SELECT MAX(seq) FROM entries").fetchone()[0] or 0)
                row = conn.execute("SELECT value FROM meta WHERE key = 'synced_seq'").fetchone()
                synced = int(row[0]) if row else 0
                backlog = int(
                    conn.execute(
                        "SELECT COUNT(*) FROM entries WHERE seq > ?", (synced,)
                    ).fetchone()[0]
                )
            return backlog, head
        except sqlite3.Error:
            pass  # a journal being created right now: fall back to the state file
    state = _read_json(files.dir / "journal_state.json")
    head_value = state.get("head")
    return int(state.get("backlog", 0)), None if head_value is None else int(head_value)


def build(
    files: TerminalFiles,
    *,
    self_test: bool = False,
    backlog: int | None = None,
    journal_head: int | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    identity = files.load()
    journal_backlog, head = journal_numbers(files)
    if journal_head is not None:
        head = journal_head
    return {
        "software_version": software_version(),
        "config_version": identity.config_version,
        "devices": device_states(files, self_test=self_test),
        "journal_backlog": journal_backlog if backlog is None else backlog,
        "journal_head": head,
        "clock": clock(),
    }


def send(files: TerminalFiles, client: SignedClient, beat: dict[str, Any]) -> dict[str, Any]:
    """Send one heartbeat; pull the configuration when the server has a newer one."""
    identity = files.load()
    answer: dict[str, Any] = client.call(
        "POST", f"/v1/terminals/{identity.terminal_id}/heartbeat", beat
    )
    if int(answer.get("config_version", identity.config_version)) != identity.config_version:
        terminal_config.pull(files, client)
        answer["config_pulled"] = True
    return answer
