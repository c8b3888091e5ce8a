"""``prepaid turnstile``: run a turnstile, or a demo of one on simulated devices.

- ``prepaid turnstile run --config turnstile.json``: the app (see
  ``gate/turnstile/config.py`` for the file); stops on SIGTERM or Ctrl-C.
- ``prepaid turnstile demo``: a gym turnstile on the built-in simulators (relay
  board, UID reader, QR scanner) with a demo snapshot; a few taps, each
  outcome printed. Nothing outside the process is touched.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from domain import journal as dj
from gate.turnstile.app import TurnstileApp
from gate.turnstile.authoriser import Authoriser, normalise
from gate.turnstile.config import ConfigError, TurnstileConfig, facility_from_json
from gate.turnstile.controller import (
    JournalLike,
    Outcome,
    QrVerifier,
    TurnstileController,
    TurnstileSettings,
)
from gate.turnstile.sources import QrSource, Source, UidSource
from terminal_drivers.errors import DriverError

log = logging.getLogger("gate.turnstile")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prepaid turnstile", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="run the turnstile app")
    run.add_argument("--config", type=Path, required=True, help="the turnstile's settings file")
    run.add_argument("-v", "--verbose", action="store_true")
    demo = sub.add_parser("demo", help="a gym turnstile on simulated devices")
    demo.add_argument("-v", "--verbose", action="store_true")
    return parser


def open_journal(terminal_dir: str, path: str) -> JournalLike:
    """The durable journal of issue 6 (``offline_queue``), under this terminal's key."""
    try:
        from offline_queue.identity import Identity
        from offline_queue.journal import Journal
    except ImportError as err:
        raise ConfigError(
            f"the terminal journal (offline_queue) is not installed here: {err}"
        ) from err
    identity = Identity.load(Path(terminal_dir))
    return Journal(path, identity)


def _sources(readers: dict[str, str], prefix: str = "") -> list[Source]:
    """Entry readers (``uid``, ``qr``, ``camera``, ``card``); with ``prefix="exit_"``
    the readers on the way out (``exit_uid``, ``exit_qr``, ``exit_camera``)."""
    readers = {k.removeprefix(prefix): v for k, v in readers.items() if k.startswith(prefix)}
    if not prefix:
        readers = {k: v for k, v in readers.items() if not k.startswith("exit_")}
    sources: list[Source] = []
    if url := readers.get("uid"):
        from terminal_drivers.uid_reader.device import UidReader

        sources.append(UidSource(UidReader.open(url)))
    if url := readers.get("qr"):
        from terminal_drivers.qr_scanner.serial_scanner import SerialQrScanner

        sources.append(QrSource(SerialQrScanner.open(url)))
    if url := readers.get("camera"):
        from terminal_drivers.qr_scanner.camera import CameraQrScanner

        sources.append(QrSource(CameraQrScanner.open(url)))
    if url := readers.get("card"):
        raise ConfigError(
            "readers.card (PC/SC) needs the estate card keys, which provisioning does not "
            "hand to turnstiles yet: use a UID or QR reader"
        )
    return sources


def qr_verifier(key_hex: str) -> QrVerifier | None:
    """Residents' signed QR tokens, in the format of ``kiosk/tokens.py`` (which
    belongs in ``domain/`` now that a second app uses it)."""
    if not key_hex:
        return None
    from kiosk.tokens import QrTokenVerifier

    try:
        key = bytes.fromhex(key_hex)
    except ValueError as err:
        raise ConfigError(f"qr_token_key is not hex: {err}") from err
    return QrTokenVerifier(key).verify


def _print(outcome: Outcome) -> None:
    what = "passed" if outcome.passed else ("open" if outcome.allowed else "refused")
    extra = f" {outcome.amount} minor units" if outcome.amount else ""
    latency = (
        f" (relay on {outcome.open_latency_s * 1000:.0f} ms after the read)"
        if outcome.open_latency_s is not None
        else ""
    )
    print(f"{outcome.unit or '-':8} {what:8} {outcome.message}{extra}{latency}", flush=True)


def _initial_snapshot(config: TurnstileConfig, store: Any) -> dict[str, Any]:
    """The snapshot held in the journal's file (encrypted), else the settings' file."""
    held = store.load() if store is not None else None
    if held is not None:
        data: dict[str, Any] = held.data
        return data
    path = Path(config.snapshot)
    if path.exists():
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded
    raise ConfigError(
        f"no snapshot yet: set 'server' to pull one, or give a snapshot file ({path})"
    )


def run(config_path: Path) -> int:
    from terminal_drivers.relay_board.device import RelayBoard

    config = TurnstileConfig.load(config_path)
    journal: Any = open_journal(config.terminal_dir, config.journal)
    try:
        from offline_queue.snapshot import SnapshotStore

        store: Any = SnapshotStore(journal)
    except ImportError:
        store = None
    authoriser = Authoriser(
        _initial_snapshot(config, store),
        facility=config.facility.code,
        passback_timeout_s=config.passback_timeout_s,
    )
    relay = config.relay
    board = RelayBoard.open(str(relay["url"]), unit=int(relay.get("unit", 1)))
    settings = TurnstileSettings(
        terminal_id=config.terminal_id,
        facility=config.facility,
        currency=config.currency,
        timezone=config.timezone,
        relay=int(relay.get("channel", 1)),
        pulse_s=float(relay.get("pulse_s", 0.3)),
        passage_timeout_s=float(relay.get("passage_timeout_s", 8.0)),
    )
    controller = TurnstileController(
        settings,
        board=board,
        journal=journal,
        authoriser=authoriser,
        qr_verifier=qr_verifier(config.qr_token_key),
    )
    app = TurnstileApp(
        controller,
        _sources(config.readers),
        on_outcome=_print,
        exit_sources=_sources(config.readers, "exit_"),
    )
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    background = threading.Thread(
        target=_uplink if config.server else _watch_file,
        args=(config, journal, store, authoriser, stop),
        name="turnstile-uplink",
        daemon=True,
    )
    background.start()
    print(f"turnstile {config.terminal_id} at {config.facility.name}: ready", flush=True)
    try:
        app.run(stop)
    finally:
        stop.set()
        background.join(timeout=10)
        app.close()
        board.close()
    return 0


def _uplink(
    config: TurnstileConfig,
    journal: Any,
    store: Any,
    authoriser: Authoriser,
    stop: threading.Event,
) -> None:
    """Upload the journal and pull the snapshot every ``sync_s`` (issue 6's clients).
    A fresh snapshot puts the turnstile online; failing pulls let it go stale,
    and after ``max_age_s`` the offline limits apply."""
    from offline_queue.client import RequestsTransport, SignedClient
    from offline_queue.sync import SyncClient

    client = SignedClient(journal.identity, RequestsTransport(config.server, timeout=5.0))
    sync = SyncClient(journal, client)
    while True:
        try:
            sync.sync_once()
        except Exception as err:  # offline: the journal keeps everything for later
            log.info("journal not uploaded: %s", err)
        if store is not None:
            try:
                snapshot = store.pull(client)
                # Its balances count our journal up to its head: if that is all of it,
                # what we spent since the last snapshot is in them.
                authoriser.load(snapshot.data, synced=snapshot.journal_head >= journal.head())
            except Exception as err:
                log.info("snapshot not pulled: %s", err)
        if stop.wait(config.sync_s):
            return


def _watch_file(
    config: TurnstileConfig,
    journal: Any,
    store: Any,
    authoriser: Authoriser,
    stop: threading.Event,
) -> None:
    """No server configured: pick up the snapshot file whenever it changes."""
    path = Path(config.snapshot)
    seen = path.stat().st_mtime if path.exists() else 0.0
    while not stop.wait(5.0):
        try:
            mtime = path.stat().st_mtime
            if mtime != seen:
                seen = mtime
                authoriser.load(json.loads(path.read_text(encoding="utf-8")))
                log.info("snapshot reloaded")
        except (OSError, ValueError) as err:
            log.warning("snapshot not reloaded: %s", err)


class MemoryJournal:
    """For the demo only: entries kept in memory (a real turnstile needs offline_queue)."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, dict[str, Any]]] = []

    def append(self, kind: str, body: dict[str, Any]) -> int:
        self.entries.append((kind, body))
        return len(self.entries)


DEMO_HASH_KEY = "5a" * 32
DEMO_FACILITY = {
    "code": "gym",
    "name": "Gym",
    "kind": "gym",
    "pricing": "per_use",
    "price": "15.00",
    "low_assurance_daily_cap": 3000,
}


def demo_snapshot() -> dict[str, Any]:
    h = dj.credential_hash
    return {
        "hash_key": DEMO_HASH_KEY,
        "currency": "CNY",
        "credentials": {
            h(DEMO_HASH_KEY, "qr", normalise("PP1.demo-A-0101")): {"unit": "A-0101", "kind": "qr"},
            h(DEMO_HASH_KEY, "card", "0100070C7F"): {"unit": "A-0102", "kind": "card"},
        },
        "revoked": [h(DEMO_HASH_KEY, "card", "0A0B0C0D0E")],
        "balances": {"A-0101": {"services": 10_000}, "A-0102": {"services": 2_500}},
        "passes": {},
        "offline_limits": {"per_transaction": 20_000, "per_credential_per_day": 50_000},
    }


def demo() -> int:
    from terminal_drivers.qr_scanner.serial_scanner import SerialQrScanner
    from terminal_drivers.relay_board.device import RelayBoard
    from terminal_drivers.uid_reader.device import UidReader

    board = RelayBoard.open("sim://relay-board")
    uid = UidReader.open("sim://uid-reader")
    qr = SerialQrScanner.open("sim://qr-scanner")
    relay_sim = board.transport.simulator  # type: ignore[attr-defined]
    uid_sim = uid.transport.simulator  # type: ignore[attr-defined]
    qr_sim = qr.transport.simulator  # type: ignore[attr-defined]
    journal: JournalLike
    with tempfile.TemporaryDirectory() as tmp:
        try:
            from offline_queue.identity import Identity
            from offline_queue.journal import Journal

            journal = Journal(Path(tmp) / "journal.sqlite3", Identity.generate("turnstile-demo"))
        except ImportError:
            journal = MemoryJournal()
        zone = ZoneInfo("Asia/Shanghai")
        settings = TurnstileSettings(
            terminal_id="turnstile-demo",
            facility=facility_from_json(DEMO_FACILITY),
            passage_timeout_s=2.0,
        )
        controller = TurnstileController(
            settings,
            board=board,
            journal=journal,
            authoriser=Authoriser(demo_snapshot(), facility="gym"),
            now=lambda: datetime.now(zone).replace(hour=10),
        )
        app = TurnstileApp(controller, [UidSource(uid), QrSource(qr)], on_outcome=_print)
        script: list[tuple[str, Any]] = [
            (
                "QR code of A-0101, walks through",
                lambda: (relay_sim.walk(1), qr_sim.scan("PP1.demo-A-0101")),
            ),
            (
                "125 kHz fob of A-0102, walks through",
                lambda: (relay_sim.walk(1), uid_sim.tap("0100070C7F")),
            ),
            ("the same fob again (10.00 left)", lambda: uid_sim.tap("0100070C7F")),
            ("a revoked fob", lambda: uid_sim.tap("0A0B0C0D0E")),
            ("QR of A-0101, nobody pushes the arm", lambda: qr_sim.scan("PP1.demo-A-0101")),
            ("fire alarm", lambda: relay_sim.fire_alarm(True)),
        ]
        try:
            for label, action in script:
                print(f"-- {label}", flush=True)
                action()
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and not app.step():
                    if controller.fire_alarm:
                        print("fire alarm: every relay open and held", flush=True)
                        break
                time.sleep(1.1)  # past the readers' repeat windows
        except DriverError as err:
            print(f"demo failed: {err}")
            return 1
        finally:
            app.close()
            board.close()
        if isinstance(journal, MemoryJournal):
            kinds = [kind for kind, _ in journal.entries]
        else:
            kinds = [entry.kind for entry in journal.entries()]  # type: ignore[attr-defined]
        print(f"journal: {', '.join(kinds)}")
    return 0


def turnstile_main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.action == "run":
            return run(args.config)
        return demo()
    except (ConfigError, DriverError, OSError, ValueError) as err:
        print(f"prepaid turnstile: {err}")
        return 2


def gate_main(argv: Sequence[str]) -> int:
    """``prepaid gate``: the barrier gate (``gate/barrier``)."""
    from gate.barrier.cli import gate_main as barrier_main

    return barrier_main(argv)
