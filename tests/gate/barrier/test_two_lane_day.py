"""A day of traffic at a two-lane gate, through the whole app.

Rendered plate frames (``lpr.render``) are the camera simulator's folders, read by
the real plate reader; the arms are relays of the Modbus relay-board simulator; the
loops are its inputs; the journal is the terminal's (``offline_queue``); the server
is the real app on a fresh SQLite estate, reached by an enrolled gate terminal whose
every request is signed (``SignedUplink``), its ledger checked at the end. One hour of
the day the gate is offline while the manager changes the visitor tariff: the
gate's price, under the version it used, is what the server books afterwards.
"""

from __future__ import annotations

import random
import shutil
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from central.api.app import create_app
from central.db.database import Database
from central.db.schema import accounts
from central.estate import registry
from central.parking.tables import parking_sessions
from central.settings import Settings
from gate.barrier.app import FrameCamera, SignedUplink, lane_settings
from gate.barrier.book import ParkingBook
from gate.barrier.controller import Event, GateController, State
from gate.barrier.payments import SandboxProvider
from lpr.capture import FolderSource
from lpr.reader import PlateReader, ReaderSettings
from lpr.render import vehicle_frames
from offline_queue.client import SignedClient
from offline_queue.journal import Journal
from terminal_drivers.relay_board.device import RelayBoard
from tests.central.conftest import migrated_template, token_for  # noqa: F401
from tests.offline_queue.support import Network, enrol

PASS_CAR, RESIDENT_CAR, VISITOR, OFFLINE_VISITOR = "LTP9190", "APT8683", "NWN7A33", "RKD4F27"
ENTRY_LOOP, EXIT_LOOP = 1, 5


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    plate_reader = PlateReader(ReaderSettings(region="br"))
    plate_reader.warm_up()
    return plate_reader


@pytest.fixture
def server(migrated_template: Path, tmp_path: Path) -> Iterator[tuple[TestClient, Database]]:  # noqa: F811
    path = tmp_path / "estate.sqlite3"
    shutil.copyfile(migrated_template, path)
    url = f"sqlite:///{path}"
    db = Database.open(url, migrate=False)
    with TestClient(create_app(Settings(database_url=url), db)) as client:
        yield client, db
    db.close()


def render(folder: Path, plate: str, seed: int) -> Path:
    """One vehicle's approach as a folder of frames: the camera simulator's feed."""
    car = folder / plate
    car.mkdir(parents=True)
    for i, sample in enumerate(
        vehicle_frames(plate, "br", random.Random(seed), frames=4, size=(960, 540))
    ):
        cv2.imwrite(str(car / f"{i}.jpg"), sample.frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return car


def drive(gate: GateController, sim: Any, lane: str, loop: int, frames: Path) -> list[Event]:
    """A car onto a lane's loop until the lane decides; through if the arm went up."""
    gate.lanes[lane].camera = FrameCamera(iter(FolderSource(frames).frames()))
    sim.set_input(loop, True)
    events: list[Event] = []
    deadline = time.monotonic() + 10
    while gate.lanes[lane].state in (State.IDLE, State.READING) and time.monotonic() < deadline:
        events += gate.step()
    return events


def through(gate: GateController, sim: Any, lane: str, loop: int) -> list[Event]:
    sim.set_input(loop, False)
    events: list[Event] = []
    deadline = time.monotonic() + 5
    while gate.lanes[lane].state is not State.IDLE and time.monotonic() < deadline:
        events += gate.step()
        time.sleep(0.01)
    return events


def test_a_day_at_a_two_lane_gate(
    server: tuple[TestClient, Database], reader: PlateReader, tmp_path: Path
) -> None:
    client, db = server
    manager = {"Authorization": f"Bearer {token_for(db, 'boss')}"}

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = client.post(
            path, json=body, headers={**manager, "Idempotency-Key": uuid.uuid4().hex}
        )
        assert answer.status_code in (200, 201), answer.text
        result: dict[str, Any] = answer.json()
        return result

    # The estate: tariffs, two cars of A-0101 (one with a pass), money in its wallet.
    start = datetime.now(UTC) - timedelta(hours=11)  # "08:00" of the gate's day
    for kind, version, rate in (("resident", "r1", "5"), ("visitor", "v1", "10")):
        post(
            "/v1/parking/tariffs",
            {
                "kind": kind,
                "version": version,
                "day_rate": rate,
                "free_minutes": 15,
                "effective_from": "2026-01-01T00:00:00Z",
            },
        )
    with db.write() as conn:
        for plate in (PASS_CAR, RESIDENT_CAR):
            registry.add_credential(conn, unit="A-0101", kind="plate", value=plate)
    post(
        "/v1/ledger/top-ups",
        {
            "unit": "A-0101",
            "wallet": "parking",
            "amount": 40_000,
            "currency": "CNY",
            "method": "staff_desk",
        },
    )
    post(
        "/v1/parking/passes",
        {
            "unit": "A-0101",
            "period": "monthly",
            "price": 30_000,
            "plate": PASS_CAR,
            "start": (start - timedelta(days=2)).date().isoformat(),
        },
    )
    # The gate is an enrolled terminal: every request signed with its key.
    identity = enrol(db, terminal_type="gate", location="North gate")
    network = Network(client)
    signed = SignedClient(identity, network)
    snapshot = signed.call("GET", "/v1/parking/snapshot").json()
    assert PASS_CAR not in str(snapshot)  # plates travel as keyed hashes only

    # The gate: relay-board simulator, journal, rendered camera feeds, the real reader.
    board = RelayBoard.open("sim://relay-board")
    sim = board.transport.simulator  # type: ignore[attr-defined]
    journal = Journal(tmp_path / "journal.sqlite3", identity)
    uplink = SignedUplink(signed)
    sandbox = SandboxProvider()
    clock = [start]
    gate = GateController(
        terminal_id=identity.terminal_id,
        board=board,
        reader=reader,
        book=ParkingBook(snapshot),
        journal=journal,
        uplink=uplink,
        payments=sandbox,
        wall=lambda: clock[0],
    )
    for name, direction, relay, loop in (
        ("in-1", "entry", 1, ENTRY_LOOP),
        ("out-1", "exit", 2, EXIT_LOOP),
    ):
        gate.add_lane(
            lane_settings(
                {
                    "lane": name,
                    "direction": direction,
                    "relay": relay,
                    "loop_input": loop,
                    "close_delay_s": 0.05,
                }
            ),
            camera=lambda: None,
        )
    feeds = {
        p: render(tmp_path / "feeds", p, seed)
        for seed, p in enumerate((PASS_CAR, RESIDENT_CAR, VISITOR, OFFLINE_VISITOR))
    }

    def at(hours: float) -> None:
        clock[0] = start + timedelta(hours=hours)

    def enter(plate: str) -> Event:
        events = drive(gate, sim, "in-1", ENTRY_LOOP, feeds[plate])
        assert events[-1].kind == "opened", events
        assert board.read_relays()[0] is True
        assert "closed" in [e.kind for e in through(gate, sim, "in-1", ENTRY_LOOP)]
        assert board.read_relays()[0] is False
        return events[-1]

    def leave(plate: str, pay: str | None = None) -> Event:
        events = drive(gate, sim, "out-1", EXIT_LOOP, feeds[plate])
        if pay is not None:
            assert events[-1].kind == "await_payment", events
            assert board.read_relays()[1] is False  # the arm waits for the money
            if pay == "qr":  # the driver scans the code and pays on the phone
                assert "pay.sandbox.invalid" in events[-1].message
                sandbox.pay(events[-1].message.rsplit("/", 1)[1].split("?")[0])
                events = gate.step()
            else:
                events = gate.lanes["out-1"].paid(pay)  # type: ignore[arg-type]
        assert events[-1].kind == "opened", events
        through(gate, sim, "out-1", EXIT_LOOP)
        return events[-1]

    try:
        at(0)
        assert enter(PASS_CAR).record["kind"] == "pass"
        at(1)
        assert enter(RESIDENT_CAR).record["kind"] == "resident"
        at(2)
        assert enter(VISITOR).record["kind"] == "visitor"
        at(2 + 50 / 60)
        paid = leave(VISITOR, pay="qr")
        assert paid.amount == 1000
        at(3 + 10 / 60)
        wallet = leave(RESIDENT_CAR)
        assert wallet.record["paid_by"] == "wallet"
        assert wallet.amount == 1500  # 2 h 10 min: three started hours at 5.00
        # The offline hour: the network is down, the manager raises the visitor tariff.
        network.up = False
        at(4 + 5 / 60)
        enter(OFFLINE_VISITOR)
        at(4.5)
        post(
            "/v1/parking/tariffs",
            {
                "kind": "visitor",
                "version": "v2",
                "day_rate": "20",
                "effective_from": clock[0].isoformat(),
            },
        )
        at(4 + 50 / 60)
        offline = leave(OFFLINE_VISITOR, pay="guard")
        assert offline.amount == 1000
        assert offline.record["tariff_version"] == "v1"
        assert len(gate.unsent) == 2
        at(5)
        network.up = True
        assert gate.resend() == 2
        at(10)
        assert leave(PASS_CAR).record["paid_by"] == "pass"
        assert board.read_relays()[:2] == [False, False]
        latencies = [e.latency_s for e in (paid, wallet) if e.latency_s is not None]
        assert all(latency < 1.0 for latency in latencies)
    finally:
        board.close()

    # The journal: every opening, before its relay; the two exits that waited for money.
    kinds = [entry.kind for entry in journal.entries()]
    assert kinds.count("gate_open") == 8
    assert kinds.count("note") == 2
    assert journal.verify_chain() == []
    journal.close()

    # The server's books.
    assert client.get("/v1/parking/inside", headers=manager).json() == []
    with db.read() as conn:
        sessions = {
            row.plate: row
            for row in conn.execute(
                select(parking_sessions).where(parking_sessions.c.status == "closed")
            )
        }
        balances = dict(conn.execute(select(accounts.c.code, accounts.c.balance)).all())
    assert set(sessions) == {PASS_CAR, RESIDENT_CAR, VISITOR, OFFLINE_VISITOR}
    assert sessions[OFFLINE_VISITOR].tariff_version == "v1"
    assert sessions[OFFLINE_VISITOR].amount == 1000
    assert sessions[OFFLINE_VISITOR].paid_by == "guard"
    assert sessions[PASS_CAR].paid_by == "pass"
    assert balances["wallet:A-0101:parking"] == 40_000 - 30_000 - 1500
    assert balances["clearing:sandbox"] == -1000
    assert (
        balances[f"cash_box:guard.{identity.terminal_id}"] == -1000
    )  # the guard's cash, to be counted
    assert balances["revenue:parking"] == 30_000 + 1500 + 1000 + 1000
