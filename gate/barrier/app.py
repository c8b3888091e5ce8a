"""The barrier gate wired to real devices: the relay board, lane cameras, the plate
reader, the terminal journal and the server.

``GateConfig`` is the gate's settings file (JSON)::

    {"terminal_id": "gate-1", "terminal_dir": "/var/lib/prepaid/terminal",
     "journal": "/var/lib/prepaid/gate-journal.sqlite3",
     "snapshot": "/var/lib/prepaid/parking-snapshot.json",
     "server": "https://estate.example/", "region": "cn",
     "relay": {"url": "serial:///dev/ttyUSB0?baud=9600", "unit": 1},
     "fire_input": 4, "payments": "sandbox", "fine_pass": false,
     "lanes": [{"lane": "in-1", "direction": "entry", "relay": 1, "loop_input": 1,
                "camera": "rtsp://10.0.0.21/stream1"},
               {"lane": "out-1", "direction": "exit", "relay": 2, "loop_input": 5,
                "camera": "sim://"}]}

``FrameCamera`` turns an ``lpr.capture`` source (a camera, a stream, a folder
of images: the camera simulator) into the controller's ``Camera``;
``SignedUplink`` posts decision records to ``/v1/parking`` signed with the
terminal's key, under the journal entry's idempotency key.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gate.barrier.controller import Event, GateController, LaneSettings

log = logging.getLogger("gate.barrier")


class ConfigError(ValueError):
    """The gate's settings file is missing something or says something impossible."""


@dataclass(frozen=True)
class GateConfig:
    terminal_id: str
    relay_url: str
    lanes: list[dict[str, Any]]
    journal: str
    snapshot: str
    terminal_dir: str = ""
    server: str = ""
    region: str = "any"
    relay_unit: int = 1
    fire_input: int = 4
    payments: str = ""  # "sandbox": QR payments through the development provider
    # The reader's second, finer detector pass on frames with nothing to act on: for
    # plates far from the camera. A car at a barrier is close; off by default (it
    # takes the p95 from about 1 s to under 0.4 s, bench/gate.py).
    fine_pass: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> GateConfig:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            relay = data["relay"]
            lanes = list(data["lanes"])
            for lane in lanes:
                if lane["direction"] not in ("entry", "exit"):
                    raise ConfigError(f"lane {lane['lane']}: direction is entry or exit")
                int(lane["relay"]), int(lane["loop_input"]), str(lane["camera"])
            return cls(
                terminal_id=str(data["terminal_id"]),
                relay_url=str(relay["url"]),
                relay_unit=int(relay.get("unit", 1)),
                lanes=lanes,
                journal=str(data["journal"]),
                snapshot=str(data["snapshot"]),
                terminal_dir=str(data.get("terminal_dir", "")),
                server=str(data.get("server", "")),
                region=str(data.get("region", "any")),
                fire_input=int(data.get("fire_input", 4)),
                payments=str(data.get("payments", "")),
                fine_pass=bool(data.get("fine_pass", False)),
            )
        except (OSError, ValueError, KeyError, TypeError) as err:
            if isinstance(err, ConfigError):
                raise
            raise ConfigError(f"{path}: {err!r}") from err


class FrameCamera:
    """The controller's camera over an ``lpr.capture`` frame source (``None`` when it ends)."""

    def __init__(self, frames: Iterator[Any]) -> None:
        self._frames = frames

    def __call__(self) -> np.ndarray | None:
        frame = next(self._frames, None)
        return None if frame is None else frame.image


class SignedUplink:
    """Decision records to the server, signed; ``None`` when the server cannot be reached."""

    def __init__(self, client: Any) -> None:
        self.client = client  # offline_queue.client.SignedClient

    def submit(self, path: str, body: dict[str, Any], key: str) -> dict[str, Any] | None:
        from offline_queue.errors import SyncError

        data = json.dumps(body, separators=(",", ":")).encode()
        headers = self.client.headers("POST", path, data)
        headers["Idempotency-Key"] = key
        try:
            answer = self.client.transport("POST", path, data, headers)
        except SyncError as err:
            log.info("server unreachable, kept for later: %s", err)
            return None
        if answer.status >= 500:
            return None
        result: dict[str, Any] = answer.json() or {}
        if answer.status >= 400:
            # Refused for good (a bad record): the journal keeps it for the technician.
            log.warning("server refused %s %s: %s", path, key, result)
        return result


class SealedSnapshot:
    """The gate's parking snapshot on disk, encrypted at rest (DESIGN.md, "Terminals"):
    AES-GCM under a key derived from the terminal's own private key, so the file is
    useless off this terminal and an altered file is refused, not believed."""

    def __init__(self, path: Path, private_key: bytes) -> None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        self.path = path
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"prepaid parking snapshot v1"
        ).derive(private_key)
        self._aead = AESGCM(key)

    def save(self, data: dict[str, Any]) -> None:
        import os

        nonce = os.urandom(12)
        sealed = nonce + self._aead.encrypt(nonce, json.dumps(data).encode(), b"parking")
        partial = self.path.with_suffix(self.path.suffix + ".partial")
        partial.write_bytes(sealed)
        partial.replace(self.path)  # a power cut leaves the old snapshot or the new one

    def load(self) -> dict[str, Any]:
        from cryptography.exceptions import InvalidTag

        sealed = self.path.read_bytes()
        try:
            plain = self._aead.decrypt(sealed[:12], sealed[12:], b"parking")
        except InvalidTag as err:
            raise ConfigError(f"{self.path}: the snapshot does not decrypt here") from err
        data: dict[str, Any] = json.loads(plain)
        return data


def lane_settings(lane: dict[str, Any]) -> LaneSettings:
    return LaneSettings(
        lane=str(lane["lane"]),
        direction=lane["direction"],
        relay=int(lane["relay"]),
        loop_input=int(lane["loop_input"]),
        passage_input=int(lane.get("passage_input", 0)),
        low_read=lane.get("low_read", "qr_ticket"),
        offline_unpaid=lane.get("offline_unpaid", "ticket"),
        max_read_s=float(lane.get("max_read_s", 2.5)),
        close_delay_s=float(lane.get("close_delay_s", 0.5)),
    )


def run(
    controller: GateController,
    stop: threading.Event,
    *,
    poll_s: float = 0.02,
    retry_s: float = 5.0,
    refresh: Callable[[], None] | None = None,
    refresh_s: float = 60.0,
) -> None:
    """Step the gate until ``stop``; each event is logged (a display would show it).
    Decisions the server could not take are offered again every ``retry_s``; the
    snapshot is refreshed every ``refresh_s`` (between vehicles, on this thread)."""
    import time

    controller.recover()
    next_retry = time.monotonic()
    next_refresh = time.monotonic() + refresh_s
    while not stop.is_set():
        if refresh is not None and time.monotonic() >= next_refresh:
            try:
                refresh()
            except Exception as err:  # offline: keep deciding from the last snapshot
                log.info("snapshot not refreshed: %s", err)
            next_refresh = time.monotonic() + refresh_s
        for event in controller.step():
            _show(event)
        if controller.unsent and time.monotonic() >= next_retry:
            controller.resend()
            next_retry = time.monotonic() + retry_s
        stop.wait(poll_s)


def _show(event: Event) -> None:
    latency = "" if event.latency_s is None else f" ({event.latency_s * 1000:.0f} ms)"
    print(
        f"{event.lane:8} {event.kind:14} {event.plate or '-':10} {event.message}{latency}",
        flush=True,
    )
