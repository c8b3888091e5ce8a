"""Turnstile benchmark: from the tap (or the QR code in view) to the relay switched on.

The whole app in one process, as on the turnstile: the reader simulators on
ptys sending at 9600 baud (paced), the app loop in its own thread, the
durable journal (``offline_queue``: SQLite, WAL, ``synchronous=FULL``) written
before the relay moves, and the relay board simulator answering real Modbus
RTU, also paced at 9600 baud. The clock starts when the simulator begins to
send the tag's bytes (or shows the QR code to the camera) and stops when the
board has switched the relay on (its own log). Online: a fresh snapshot;
offline: a stale one, with the offline limits worked out on every decision.

    .venv/bin/python bench/turnstile.py [--trials 40]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import median, percentile


def snapshot(fobs: list[str], codes: list[str]) -> dict[str, Any]:
    from domain import journal as dj
    from gate.turnstile.authoriser import normalise

    key = "42" * 32
    credentials = {}
    for n, fob in enumerate(fobs):
        credentials[dj.credential_hash(key, "card", fob)] = {"unit": f"U-{n}", "kind": "card"}
    for n, code in enumerate(codes):
        credentials[dj.credential_hash(key, "qr", normalise(code))] = {
            "unit": f"U-{n}",
            "kind": "qr",
        }
    return {
        "hash_key": key,
        "credentials": credentials,
        "revoked": [],
        "balances": {f"U-{n}": {"services": 10**9} for n in range(max(len(fobs), len(codes)))},
        "offline_limits": {
            "per_transaction": 10**6,
            "per_credential_per_day": 10**8,
            "per_terminal": 10**9,
        },
    }


def run_case(kind: str, *, online: bool, trials: int, workdir: Path) -> list[float]:
    from domain.facilities import Facility, FacilityKind, OpeningHours, Pricing
    from gate.turnstile.app import TurnstileApp
    from gate.turnstile.authoriser import Authoriser
    from gate.turnstile.controller import Outcome, TurnstileController, TurnstileSettings
    from gate.turnstile.sources import QrSource, Source, UidSource
    from offline_queue.identity import Identity
    from offline_queue.journal import Journal
    from terminal_drivers.qr_scanner.camera import CameraQrScanner
    from terminal_drivers.qr_scanner.serial_scanner import SerialQrScanner
    from terminal_drivers.qr_scanner.simulator import QrScannerSimulator, SimulatedCamera
    from terminal_drivers.relay_board.device import RelayBoard
    from terminal_drivers.relay_board.simulator import RelayBoardSimulator
    from terminal_drivers.transport import open_transport
    from terminal_drivers.uid_reader.device import UidReader
    from terminal_drivers.uid_reader.simulator import UidReaderSimulator

    fobs = [f"01{n:08X}" for n in range(trials)]
    codes = [f"PP1.bench-token-{n:04d}-{'x' * 40}" for n in range(trials)]
    relay_sim = RelayBoardSimulator(pace=True)
    relay_sim.start()
    board = RelayBoard(open_transport(relay_sim.endpoint), reply_timeout=0.2)
    cleanup: list[Callable[[], None]] = [relay_sim.stop, board.close]
    trigger: Callable[[int], None]
    source: Source
    if kind == "uid":
        uid_sim = UidReaderSimulator(pace=True)
        uid_sim.start()
        cleanup.append(uid_sim.stop)
        source = UidSource(UidReader(open_transport(uid_sim.endpoint)))

        def trigger(n: int) -> None:
            uid_sim.tap(fobs[n])

    elif kind == "qr-serial":
        qr_sim = QrScannerSimulator(pace=True)
        qr_sim.start()
        cleanup.append(qr_sim.stop)
        source = QrSource(SerialQrScanner(open_transport(qr_sim.endpoint)))

        def trigger(n: int) -> None:
            qr_sim.scan(codes[n])

    else:
        camera = SimulatedCamera()
        source = QrSource(CameraQrScanner(camera))

        def trigger(n: int) -> None:
            camera.show(codes[n], module_px=4)

    journal = Journal(workdir / f"{kind}-{online}.sqlite3", Identity.generate("bench"))
    authoriser = Authoriser(snapshot(fobs, codes), facility="gym")
    if not online:
        authoriser.mark_offline()
    gym = Facility("gym", "Gym", FacilityKind.GYM, Pricing.PER_USE, OpeningHours.always())
    settings = TurnstileSettings(
        terminal_id="bench", facility=gym, pulse_s=0.05, passage_timeout_s=1.0
    )
    zone = ZoneInfo("Asia/Shanghai")
    controller = TurnstileController(
        settings,
        board=board,
        journal=journal,
        authoriser=authoriser,
        now=lambda: datetime.now(zone),
    )
    done = threading.Event()

    def finished(outcome: Outcome) -> None:
        if not outcome.allowed or not outcome.passed:
            print(f"  unexpected outcome: {outcome}", flush=True)
        done.set()

    app = TurnstileApp(controller, [source], on_outcome=finished)
    stop = threading.Event()
    loop = threading.Thread(target=app.run, args=(stop,), name="turnstile-loop")
    loop.start()
    latencies: list[float] = []
    try:
        for n in range(-3, trials):  # three warm-up taps
            index = n % trials
            done.clear()
            relay_sim.walk(1, after_ms=10, ms=150)
            with relay_sim.lock:
                before = len(relay_sim.relay_log)
            started = time.monotonic()
            trigger(index)
            if not done.wait(5):
                raise RuntimeError(f"{kind}: tap {n} was never handled")
            with relay_sim.lock:
                ons = [t for t, _, on in relay_sim.relay_log[before:] if on]
            if n >= 0:
                latencies.append(ons[0] - started)
            if kind == "camera":
                camera.hide()
            # The next person: not before this one's rotation (150 ms) is over.
            time.sleep(0.25)
    finally:
        stop.set()
        loop.join(timeout=5)
        app.close()
        journal.close()
        for step in reversed(cleanup):
            step()
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    args = parser.parse_args()
    print("| credential | mode | p50 | p95 | max | target p95 |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("uid", "qr-serial", "camera"):
            for online in (True, False):
                values = run_case(kind, online=online, trials=args.trials, workdir=Path(tmp))
                ms = [v * 1000 for v in values]
                print(
                    f"| {kind} | {'online' if online else 'offline'} | {median(ms):.1f} ms "
                    f"| {percentile(ms, 95):.1f} ms | {max(ms):.1f} ms | 300 ms |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
