"""Heartbeats: what the server needs to tell online, degraded and offline apart.

Software and config versions, each device's state, the journal's backlog and
head, and this terminal's own clock (uncorrected: the server measures the drift).
Device states and the journal's numbers come from files the terminal apps and the
journal keep current in the terminal directory (``device_states.json``:
``{name: {"ok", "state", "detail"}}``; ``journal_state.json``: ``{"backlog",
"head"}``), or from a fresh self-test of every device.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
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


def build(
    files: TerminalFiles,
    *,
    self_test: bool = False,
    backlog: int | None = None,
    journal_head: int | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    identity = files.load()
    journal = _read_json(files.dir / "journal_state.json")
    head = journal_head if journal_head is not None else journal.get("head")
    return {
        "software_version": software_version(),
        "config_version": identity.config_version,
        "devices": device_states(files, self_test=self_test),
        "journal_backlog": int(backlog if backlog is not None else journal.get("backlog", 0)),
        "journal_head": None if head is None else int(head),
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
