"""Lobby kiosk benchmark: card event to overview drawn, tap to overview, cold start, memory.

The central server runs as its own process (``prepaid central serve``, SQLite on
disk, the demo estate); the kiosk runs here as on the terminal: a real Kivy window
(offscreen without a display), the controller on its own thread, the bill, coin and
printer simulators on ptys, and for the tap the virtual card through pcscd.

- event -> overview: from the reader's reading handed to the controller to the
  overview drawn in the window (the frame after the view arrived, rendered to the
  end: offscreen the kiosk waits for the GL driver after each frame, see
  ``kiosk.window.finish_frames``), online and offline (server unreachable:
  balances from the kiosk's snapshot);
- tap -> overview: from the virtual card connecting to vpcd to the overview drawn;
- cold start: a fresh Python process from its first line to the idle screen drawn;
- memory: resident set after 100 and after 1,000 simulated sessions (identify,
  overview, back to idle, each drawn), printed every 100; the target is no growth.

    .venv/bin/python bench/kiosk.py [--trials 60] [--sessions 1000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import REPO, central_server, free_port, median, percentile

PASSWORD = "bench kiosk password"

COLD_START = """
import time
started = time.perf_counter()
import sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from kiosk.window import prepare_environment
prepare_environment(offscreen=True)
from kiosk.app import KioskApp
from kiosk.controller import KioskController
from kiosk.view import Screen
from kiosk.devices import Devices
from kiosk.fonts import register_default_font
from kiosk import terminal
from kiosk.walkthrough import controller_for, demo_settings
from kiosk.window import open_window, pump
from kivy.core.window import Window
identity = terminal.load({state!r})[0]
settings = demo_settings({server!r}, Path({state!r}), Path({journal!r}),
    terminal_id=identity.terminal_id)
devices = Devices.open(settings)
controller = controller_for(settings, identity, devices)
controller.start()
register_default_font()
open_window()
app = KioskApp(controller)
Window.add_widget(app.build())
pump(1)
assert app.shown.screen == Screen.IDLE
print(time.perf_counter() - started)
devices.close()
"""


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def prepare(directory: Path) -> str:
    from central.auth.principal import Role
    from central.auth.staff import create_staff
    from central.db.database import Database
    from central.estate.demo import seed

    url = f"sqlite:///{directory / 'central.sqlite3'}"
    db = Database.open(url)
    with db.write() as conn:
        seed(conn)
        create_staff(conn, username="kiosk", password=PASSWORD, role=Role.MANAGER)
    db.close()
    return url


def enrol_kiosk(port: int, state_dir: Path) -> object:
    """The bench's kiosk enrolled as a terminal: a manager's code, a key made here."""
    from bench.harness import Client
    from kiosk import terminal

    status, body = Client(port).call(
        "POST", "/v1/auth/token", {"username": "kiosk", "password": PASSWORD}
    )
    assert status == 200, body
    status, body = Client(port, str(body["access_token"])).call(
        "POST", "/v1/terminals/enrolment-codes", {"terminal_type": "kiosk", "location": "Bench"}
    )
    assert status == 201, body
    return terminal.enrol(state_dir, server=f"http://127.0.0.1:{port}", code=str(body["code"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--sessions", type=int, default=1000)
    args = parser.parse_args()

    from kiosk.window import prepare_environment

    prepare_environment(offscreen=True)
    from kivy.core.window import Window

    from central.estate.demo import demo_card_number
    from kiosk.app import ControllerThread, KioskApp
    from kiosk.devices import Devices
    from kiosk.fonts import register_default_font
    from kiosk.view import KioskView, Screen
    from kiosk.walkthrough import controller_for, demo_settings
    from kiosk.window import open_window, pump

    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = prepare(work)
        with central_server(url) as port:
            base = f"http://127.0.0.1:{port}"
            identity = enrol_kiosk(port, work / "terminal")
            cards = [demo_card_number(b, f, d) for b in "AB" for f in range(1, 13) for d in (1, 2)]

            card_sim = None
            try:
                from terminal_drivers.card_reader.simulator import CardSimulator

                card_sim = CardSimulator(start_pcscd=True)
                reader_url = card_sim.start()
            except Exception as err:
                print(f"no virtual card reader ({err}): tap -> overview skipped")
                card_sim, reader_url = None, ""
            settings = demo_settings(
                base, work / "terminal", work / "journal.sqlite3",
                terminal_id=identity.terminal_id,  # type: ignore[attr-defined]
            )  # fmt: skip
            from dataclasses import replace

            settings = replace(settings, card_reader_url=reader_url, idle_timeout_s=3600)
            devices = Devices.open(settings)
            controller = controller_for(settings, identity, devices)  # type: ignore[arg-type]
            gateway: Any = controller.gateway
            register_default_font()
            open_window()
            app = KioskApp(controller)
            Window.add_widget(app.build())
            thread = ControllerThread(controller, period=0.01)
            thread.start()
            drawn: dict[str, float] = {}
            original_show = app.show

            def show(view: KioskView) -> None:
                original_show(view)
                drawn[view.screen.value] = time.perf_counter()

            app.show = show  # type: ignore[method-assign]

            def until(screen: Screen, since: float, timeout: float = 10.0) -> float:
                deadline = time.monotonic() + timeout
                while drawn.get(screen.value, 0.0) < since:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"no {screen} within {timeout} s: {app.shown}")
                    pump(1)
                pump(1)  # the frame that draws it
                return time.perf_counter() - since

            def read(card: str) -> None:
                controller.submit("card_read", card_number=card)

            def tap(card: str) -> None:
                assert card_sim is not None
                card_sim.tap(card)

            def session(start: Callable[[str], None], card: str) -> float:
                t0 = time.perf_counter()
                start(card)
                elapsed = until(Screen.OVERVIEW, t0)
                t1 = time.perf_counter()
                controller.submit("go_idle")
                until(Screen.IDLE, t1)
                return elapsed

            until(Screen.IDLE, 0.0)
            for case, base_url in (
                ("online", base),
                ("offline", f"http://127.0.0.1:{free_port()}"),
            ):
                gateway.base_url = base_url
                times = []
                for n in range(args.trials + 5):
                    card = cards[n % len(cards)]
                    took = session(read, card)
                    if n >= 5:  # warm-up: first fonts, first textures, the snapshot of each unit
                        times.append(took * 1000)
                results[f"event_to_overview_{case}_ms"] = {
                    "p50": round(median(times), 1),
                    "p95": round(percentile(times, 95), 1),
                }
                print(case, results[f"event_to_overview_{case}_ms"], flush=True)
            gateway.base_url = base

            if card_sim is not None:
                times = []
                for n in range(min(args.trials, 30)):
                    card = cards[n % len(cards)]
                    times.append(session(tap, card) * 1000)
                    card_sim.remove()
                results["tap_to_overview_ms"] = {
                    "p50": round(median(times), 1),
                    "p95": round(percentile(times, 95), 1),
                }
                print("tap", results["tap_to_overview_ms"], flush=True)

            rss = {}
            for n in range(1, args.sessions + 1):
                card = cards[n % len(cards)]
                session(read, card)
                if n % 100 == 0 or n == args.sessions:
                    rss[n] = rss_kib()
                    print(f"rss after {n} sessions: {rss[n] / 1024:.1f} MB", flush=True)
            results["rss_kib"] = rss
            print("rss", rss, flush=True)
            thread.stop()
            devices.close()
            controller.journal.close()
            if card_sim is not None:
                card_sim.stop()

            starts = []
            for n in range(3):
                code = COLD_START.format(
                    repo=str(REPO),
                    server=base,
                    state=str(work / "terminal"),
                    journal=str(work / f"cold-{n}.db"),
                )
                done = subprocess.run(
                    [sys.executable, "-c", code], capture_output=True, text=True, check=True
                )
                starts.append(float(done.stdout.strip().splitlines()[-1]))
            results["cold_start_s"] = {
                "median": round(median(starts), 2),
                "max": round(max(starts), 2),
            }
            print("cold start", results["cold_start_s"], flush=True)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
