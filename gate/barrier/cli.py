"""``prepaid gate``: run a barrier gate, or a demo of one on simulated devices.

- ``prepaid gate run --config gate.json``: the app (see ``gate/barrier/app.py``
  for the file); stops on SIGTERM or Ctrl-C.
- ``prepaid gate demo``: an entry and an exit lane on the relay-board simulator,
  with the camera simulator's shipped frames (``lpr/simfeed``), offline: each
  vehicle's decision is printed. Nothing outside the process is touched.
"""

from __future__ import annotations

import argparse
import logging
import signal
import tempfile
import threading
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any

from domain.parking import ParkingTariff, tariff_to_spec
from gate.barrier.app import (
    ConfigError,
    FrameCamera,
    GateConfig,
    SealedSnapshot,
    SignedUplink,
    lane_settings,
)
from gate.barrier.app import run as run_gate
from gate.barrier.book import ParkingBook
from gate.barrier.controller import GateController, State, Uplink
from gate.barrier.payments import SandboxProvider

log = logging.getLogger("gate.barrier")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prepaid gate", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="run the barrier-gate app")
    run.add_argument("--config", type=Path, required=True, help="the gate's settings file")
    run.add_argument("-v", "--verbose", action="store_true")
    demo = sub.add_parser("demo", help="two lanes on simulated devices")
    demo.add_argument("-v", "--verbose", action="store_true")
    return parser


def run(config_path: Path) -> int:
    from lpr.capture import open_source
    from lpr.reader import PlateReader, ReaderSettings
    from offline_queue.client import RequestsTransport, SignedClient
    from offline_queue.identity import Identity
    from offline_queue.journal import Journal
    from terminal_drivers.relay_board.device import RelayBoard

    config = GateConfig.load(config_path)
    terminal_dir = Path(config.terminal_dir)
    # The provisioning tools' files (terminal.json, PEM key), else the journal's own.
    identity = (
        Identity.from_terminal_dir(terminal_dir)
        if (terminal_dir / "terminal.json").is_file()
        else Identity.load(terminal_dir)
    )
    journal = Journal(config.journal, identity)
    uplink: Uplink | None = None
    sealed = SealedSnapshot(Path(config.snapshot), identity.raw_private())
    client = None
    if config.server:
        client = SignedClient(identity, RequestsTransport(config.server, timeout=5.0))
        uplink = SignedUplink(client)

    def pull() -> None:
        if client is None:
            return
        answer = client.call("GET", "/v1/parking/snapshot")
        sealed.save(answer.json())

    try:
        pull()
    except Exception as err:  # offline at start: decide from the last snapshot
        log.warning("snapshot not refreshed, using %s: %s", config.snapshot, err)
    book = ParkingBook(sealed.load())
    board = RelayBoard.open(config.relay_url, unit=config.relay_unit)
    settings = ReaderSettings(region=config.region)
    if not config.fine_pass:
        settings = ReaderSettings(region=config.region, fine_budget=settings.fast_budget)
    reader = PlateReader(settings)
    reader.warm_up()
    controller = GateController(
        terminal_id=config.terminal_id,
        board=board,
        reader=reader,
        book=book,
        journal=journal,
        uplink=uplink,
        payments=SandboxProvider() if config.payments == "sandbox" else None,
        fire_input=config.fire_input,
    )
    sources = []
    for lane in config.lanes:
        source = open_source(str(lane["camera"]), loop=True)
        sources.append(source)
        controller.add_lane(lane_settings(lane), FrameCamera(iter(source.frames())))
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"gate {config.terminal_id}: {len(config.lanes)} lanes ready", flush=True)

    def refresh() -> None:
        pull()
        book.load(sealed.load())

    try:
        run_gate(controller, stop, refresh=refresh if client is not None else None)
    finally:
        for source in sources:
            source.close()
        board.close()
        journal.close()
    return 0


def demo_snapshot(plates: Sequence[str]) -> dict[str, Any]:
    spec = tariff_to_spec(
        ParkingTariff(
            version="demo-1",
            currency="CNY",
            block_minutes=60,
            day_rate=Decimal(5),
            free_minutes=15,
        )
    )
    return {
        "timezone": "Asia/Shanghai",
        "plates": {plates[0]: {"unit": "A-0101"}},
        "passes": [
            {
                "id": "demo-pass",
                "unit": "A-0101",
                "plate": plates[0],
                "valid_from": "2000-01-01",
                "valid_until": "2999-12-31",
            }
        ],
        "wallets": {"A-0101": 10_000},
        "tariffs": {"resident": spec, "visitor": {**spec, "version": "demo-v"}},
    }


def demo() -> int:
    from lpr.capture import SIM_FEED, FolderSource
    from lpr.reader import PlateReader, ReaderSettings
    from terminal_drivers.relay_board.device import RelayBoard

    reader = PlateReader(ReaderSettings(region="any"))
    vehicles = sorted({p.name.split("-")[0] for p in SIM_FEED.glob("vehicle*-*.jpg")})
    board = RelayBoard.open("sim://relay-board")
    sim = board.transport.simulator  # type: ignore[attr-defined]
    frames: dict[str, Any] = {}
    entry_loop, exit_loop = 1, 5

    def camera(lane: str) -> Any:
        def grab() -> Any:
            it = frames.get(lane)
            frame = None if it is None else next(it, None)
            return None if frame is None else frame.image

        return grab

    with tempfile.TemporaryDirectory() as tmp:
        from offline_queue.identity import Identity
        from offline_queue.journal import Journal

        journal = Journal(Path(tmp) / "journal.sqlite3", Identity.generate("gate-demo"))
        first = reader.read(next(iter(FolderSource(SIM_FEED).frames())).image)
        book = ParkingBook(demo_snapshot([first[0].text if first else "DEMO1"]))
        gate = GateController(
            terminal_id="gate-demo", board=board, reader=reader, book=book, journal=journal
        )
        for name, direction, relay, loop in (
            ("in-1", "entry", 1, entry_loop),
            ("out-1", "exit", 2, exit_loop),
        ):
            gate.add_lane(
                lane_settings(
                    {"lane": name, "direction": direction, "relay": relay, "loop_input": loop}
                ),
                camera(name),
            )
        try:
            for lane, loop in (("in-1", entry_loop), ("out-1", exit_loop)):
                for vehicle in vehicles:
                    frames[lane] = iter(_vehicle_frames(SIM_FEED, vehicle))
                    sim.set_input(loop, True)
                    _settle(gate, lane, seconds=3.0, until=(State.OPEN, State.AWAIT_PAYMENT))
                    sim.set_input(loop, False)
                    _settle(gate, lane, seconds=1.0, until=(State.IDLE,))
        finally:
            board.close()
        kinds = [e.kind for e in journal.entries()]
        journal.close()
    print(f"journal: {', '.join(kinds)}")
    return 0


def _vehicle_frames(folder: Path, vehicle: str) -> Any:
    from lpr.capture import FolderSource

    for path in sorted(folder.glob(f"{vehicle}-*.jpg")):
        yield from FolderSource(path).frames()


def _settle(gate: GateController, lane: str, *, seconds: float, until: tuple[State, ...]) -> None:
    from gate.barrier.app import _show

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for event in gate.step():
            _show(event)
        if gate.lanes[lane].state in until:
            return
        time.sleep(0.02)


def gate_main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.action == "run":
            return run(args.config)
        return demo()
    except (ConfigError, OSError, ValueError) as err:
        print(f"prepaid gate: {err}")
        return 2
