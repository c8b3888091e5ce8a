"""The barrier gate's controller without a window or hardware: a fake board (inputs and
relays), scripted plate reads per lane, an in-memory journal and uplink.

Each test reads as a scene at the gate: a car on the loop, what the camera read, what
the arm did and what the journal holds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from domain.parking import ParkingTariff, tariff_to_spec
from gate.barrier.book import ParkingBook
from gate.barrier.controller import GateController, LaneSettings, State
from gate.barrier.payments import SandboxProvider
from lpr.matching import MatchKind
from lpr.types import Box, Reading

PASS_PLATE = "沪A12345"
RESIDENT_PLATE = "沪B77777"
VISITOR_PLATE = "粤C99999"
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
LOOP_IN, LOOP_OUT, FIRE = 1, 5, 4


def tariff(version: str, kind_rate: str) -> dict[str, Any]:
    from decimal import Decimal

    return tariff_to_spec(
        ParkingTariff(
            version=version,
            currency="CNY",
            block_minutes=60,
            day_rate=Decimal(kind_rate),
            free_minutes=15,
        )
    )


def snapshot() -> dict[str, Any]:
    return {
        "timezone": "Asia/Shanghai",
        "plates": {PASS_PLATE: {"unit": "A-0101"}, RESIDENT_PLATE: {"unit": "A-0101"}},
        "passes": [
            {
                "id": "p1",
                "unit": "A-0101",
                "plate": None,
                "valid_from": "2026-11-01",
                "valid_until": "2026-11-30",
            }
        ],
        "wallets": {"A-0101": 500},
        "tariffs": {"resident": tariff("r1", "5"), "visitor": tariff("v1", "10")},
        "rules": {},
    }


class FakeBoard:
    def __init__(self, log: list[tuple[str, Any]]) -> None:
        self.inputs = [False] * 8
        self.relays = [False] * 8
        self.log = log

    def read_raw_inputs(self) -> tuple[bool, ...]:
        return tuple(self.inputs)

    def set_relay(self, relay: int, on: bool) -> None:
        # The safety property under test: never an arm down on a vehicle.
        loop = LOOP_IN if relay == 1 else LOOP_OUT
        if not on:
            assert not self.inputs[loop - 1], "the arm came down on a vehicle"
        self.relays[relay - 1] = on
        self.log.append(("relay", (relay, on)))


class FakeJournal:
    def __init__(self, log: list[tuple[str, Any]]) -> None:
        self.entries: list[tuple[str, dict[str, Any]]] = []
        self.log = log

    def append(self, kind: str, body: dict[str, Any]) -> int:
        self.entries.append((kind, body))
        self.log.append(("journal", kind))
        return len(self.entries)


class FakeUplink:
    def __init__(self) -> None:
        self.online = True
        self.sent: list[tuple[str, dict[str, Any], str]] = []

    def submit(self, path: str, body: dict[str, Any], key: str) -> dict[str, Any] | None:
        if not self.online:
            return None
        self.sent.append((path, body, key))
        return {"allowed": True}


def reading(text: str, confidence: float = 0.99) -> Reading:
    return Reading(
        text=text,
        box=Box(100, 100, 200, 50),
        char_conf=(confidence,) * len(text),
        confidence=confidence,
        format_name="cn",
    )


class ScriptedReader:
    """Frames carry their lane's number; each lane's camera reads what the test queued."""

    def __init__(self) -> None:
        self.queue: dict[int, list[Reading]] = {1: [], 2: []}

    def read(self, frame: np.ndarray) -> list[Reading]:
        lane = int(frame[0, 0, 0])
        return [self.queue[lane].pop(0)] if self.queue[lane] else []


PASSAGE_IN, PASSAGE_OUT = 2, 6


class Scene:
    def __init__(self, *, low_read: str = "qr_ticket", passage: bool = False) -> None:
        self.log: list[tuple[str, Any]] = []
        self.board = FakeBoard(self.log)
        self.journal = FakeJournal(self.log)
        self.uplink = FakeUplink()
        self.reader = ScriptedReader()
        self.clock = T0
        self.now = 100.0
        self.book = ParkingBook(snapshot())
        self.payments = SandboxProvider()
        self.gate = GateController(
            terminal_id="gate-1",
            board=self.board,
            reader=self.reader,
            book=self.book,
            journal=self.journal,
            uplink=self.uplink,
            payments=self.payments,
            fire_input=FIRE,
            wall=lambda: self.clock,
        )
        for number, direction, loop in ((1, "entry", LOOP_IN), (2, "exit", LOOP_OUT)):
            frame = np.full((2, 2, 3), number, np.uint8)
            self.gate.add_lane(
                LaneSettings(
                    lane=f"{direction}-1",
                    direction=direction,  # type: ignore[arg-type]
                    relay=number,
                    loop_input=loop,
                    passage_input=(PASSAGE_IN if number == 1 else PASSAGE_OUT) if passage else 0,
                    low_read=low_read,  # type: ignore[arg-type]
                ),
                camera=lambda frame=frame: frame,  # type: ignore[misc]
            )

    def step(self, seconds: float = 0.1) -> list[Any]:
        self.now += seconds
        return self.gate.step(self.now)

    def car(self, lane: int, *reads: Reading) -> list[Any]:
        """A car drives onto a lane's loop; the camera reads ``reads``; steps until decided."""
        self.reader.queue[lane].extend(reads)
        self.board.inputs[(LOOP_IN if lane == 1 else LOOP_OUT) - 1] = True
        events = []
        for _ in range(40):
            events += self.step()
            if self.gate.lanes[self.name(lane)].state is not State.READING:
                break
        return events

    def drive_through(self, lane: int) -> list[Any]:
        self.board.inputs[(LOOP_IN if lane == 1 else LOOP_OUT) - 1] = False
        events = []
        for _ in range(10):
            events += self.step()
        return events

    @staticmethod
    def name(lane: int) -> str:
        return "entry-1" if lane == 1 else "exit-1"


def kinds(events: list[Any]) -> list[str]:
    return [e.kind for e in events]


def test_a_pass_holder_drives_in_on_a_strong_read() -> None:
    scene = Scene()
    events = scene.car(1, reading(PASS_PLATE))
    opened = events[-1]
    assert opened.kind == "opened"
    assert opened.record["kind"] == "pass"
    assert opened.latency_s is not None
    assert opened.latency_s < 0.3  # decided on the first, strong frame
    # Journalled before the relay moved.
    assert scene.log.index(("journal", "gate_open")) < scene.log.index(("relay", (1, True)))
    assert scene.uplink.sent[0][0] == "/v1/parking/entries"
    assert scene.uplink.sent[0][2] == "gate-1:1"
    assert "closed" in kinds(scene.drive_through(1))
    assert scene.board.relays[0] is False


def test_one_character_off_is_refused_entry_on_a_pass() -> None:
    scene = Scene(low_read="call_guard")
    events = scene.car(1, reading("沪A12346"))  # one character off the pass plate
    assert kinds(events) == ["call_guard"]
    assert scene.board.relays[0] is False
    assert scene.journal.entries[-1][0] == "entry_refused"
    assert scene.journal.entries[-1][1]["reason"] == "not_exact"
    assert PASS_PLATE not in scene.book.inside


def test_one_character_off_gets_a_ticket_not_the_pass() -> None:
    scene = Scene(low_read="qr_ticket")
    events = scene.car(1, reading("沪A12346"))
    assert events[-1].record["kind"] == "ticket"
    ticket = events[-1].record["ticket"]
    assert scene.book.inside == {}  # no session on the pass
    assert ticket in scene.book.tickets
    scene.drive_through(1)
    # At the exit the plate matches no stay: the driver is asked for the ticket.
    scene.clock += timedelta(minutes=40)
    events = scene.car(2, reading("沪A12346"))
    assert kinds(events) == ["await_ticket"]
    lane = scene.gate.lanes["exit-1"]
    assert kinds(lane.ticket("TNOTMINE00")) == ["refused"]
    events = lane.ticket(ticket.lower())
    assert kinds(events) == ["await_payment"]
    assert events[0].amount == 1000  # a visitor's stay of 40 minutes
    assert lane.paid("guard")[-1].kind == "opened"
    sent = [(path, body["plate"]) for path, body, _ in scene.uplink.sent]
    assert sent == [("/v1/parking/entries", ticket), ("/v1/parking/exits", ticket)]
    assert scene.book.tickets == {}


def test_a_weak_read_never_opens_for_a_pass() -> None:
    scene = Scene(low_read="call_guard")
    events = scene.car(1, *[reading(PASS_PLATE, 0.5)] * 3)
    for _ in range(30):  # the read window runs out
        events += scene.step()
    assert "call_guard" in kinds(events)
    assert "opened" not in kinds(events)


def test_fuzzy_read_closes_the_session_at_the_exit() -> None:
    scene = Scene()
    scene.car(1, reading(PASS_PLATE))
    scene.drive_through(1)
    scene.clock += timedelta(hours=3)
    events = scene.car(2, reading("沪A1234S"))  # a misread character at the exit
    opened = events[-1]
    assert opened.kind == "opened"
    assert opened.record["match"] == "fuzzy"
    assert opened.record["paid_by"] == "pass"
    path, body, _ = scene.uplink.sent[-1]
    assert path == "/v1/parking/exits"
    assert body["plate"] == PASS_PLATE
    assert body["match"] == "fuzzy"
    assert scene.book.inside == {}


def test_anti_passback_second_car_of_the_unit_is_not_on_the_pass() -> None:
    book = ParkingBook(snapshot())
    first = book.enter(PASS_PLATE, MatchKind.EXACT, T0, "entry-1")
    second = book.enter(RESIDENT_PLATE, MatchKind.EXACT, T0, "entry-1")
    assert first.kind == "pass"
    assert second.kind == "resident"
    assert second.pass_id is None
    exit_decision = book.exit(PASS_PLATE, T0 + timedelta(hours=1))
    book.settle(exit_decision, "pass")
    third = book.enter(PASS_PLATE, MatchKind.EXACT, T0 + timedelta(hours=2), "entry-1")
    assert third.kind == "pass"  # the pass came back out with its car
    again = book.enter(RESIDENT_PLATE, MatchKind.EXACT, T0 + timedelta(hours=3), "entry-1")
    assert again.already_inside


def test_resident_pays_from_the_wallet_visitor_by_qr() -> None:
    scene = Scene()
    scene.book.passes.clear()
    scene.car(1, reading(RESIDENT_PLATE))
    scene.drive_through(1)
    scene.car(1, reading(VISITOR_PLATE))
    scene.drive_through(1)
    scene.clock += timedelta(minutes=50)
    events = scene.car(2, reading(RESIDENT_PLATE))
    assert events[-1].record["paid_by"] == "wallet"
    assert events[-1].amount == 500
    scene.drive_through(2)
    events = scene.car(2, reading(VISITOR_PLATE))
    assert kinds(events) == ["await_payment"]
    assert events[0].amount == 1000
    assert scene.board.relays[1] is False
    events = scene.gate.lanes["exit-1"].paid("qr")
    assert events[-1].kind == "opened"
    _, body, _ = scene.uplink.sent[-1]
    assert body["paid_by"] == "qr"
    assert body["tariff_version"] == "v1"
    assert body["amount"] == 1000


def test_the_arm_stays_up_while_the_loop_reports_a_vehicle() -> None:
    scene = Scene()
    scene.car(1, reading(PASS_PLATE))
    for _ in range(200):  # 20 s stopped under the barrier
        assert "closed" not in kinds(scene.step())
    assert scene.board.relays[0] is True
    events = scene.drive_through(1)
    assert kinds(events) == ["closed"]


def test_fire_alarm_raises_every_arm_until_it_clears() -> None:
    scene = Scene()
    scene.board.inputs[FIRE - 1] = True
    events = scene.step()
    assert kinds(events) == ["fire"]
    assert scene.board.relays[:2] == [True, True]
    scene.board.inputs[LOOP_OUT - 1] = True  # cars leave under the raised arms
    for _ in range(20):
        scene.step()
    scene.board.inputs[LOOP_OUT - 1] = False
    scene.step()
    scene.board.inputs[LOOP_OUT - 1] = True  # and another: no read, no tailgating
    for _ in range(5):
        scene.step()
    assert scene.board.relays[:2] == [True, True]
    assert ("note", {"event": "fire_alarm", "at": T0.isoformat()}) in scene.journal.entries
    scene.board.inputs[FIRE - 1] = False
    scene.step()
    for _ in range(10):
        scene.step()
    assert scene.board.relays[:2] == [False, True]  # the exit arm waits for its loop
    scene.drive_through(2)
    assert scene.board.relays[:2] == [False, False]
    assert not [kind for kind, body in scene.journal.entries if body.get("event") == "tailgate"]


def test_tailgating_is_detected_from_the_loop() -> None:
    scene = Scene()
    scene.car(1, reading(PASS_PLATE))
    scene.board.inputs[LOOP_IN - 1] = False
    scene.step()  # the first car cleared the loop; the arm is still up
    scene.board.inputs[LOOP_IN - 1] = True  # a second car follows it in, unread
    events = scene.step()
    assert kinds(events) == ["tailgate"]
    assert scene.journal.entries[-1][1]["event"] == "tailgate"
    assert "closed" in kinds(scene.drive_through(1))


def test_a_manual_open_needs_a_reason_and_is_journalled() -> None:
    scene = Scene()
    lane = scene.gate.lanes["exit-1"]
    assert kinds(lane.manual_open(guard="wang", reason="  ")) == ["refused"]
    assert scene.board.relays[1] is False
    events = lane.manual_open(guard="wang", reason="ambulance")
    assert kinds(events) == ["opened"]
    kind, body = scene.journal.entries[-1]
    assert kind == "gate_open"
    assert body["manual"] is True
    assert body["reason"] == "ambulance"
    assert body["guard"] == "wang"


def test_offline_decisions_wait_for_the_server_in_order() -> None:
    scene = Scene()
    scene.uplink.online = False
    scene.car(1, reading(VISITOR_PLATE))
    scene.drive_through(1)
    assert not scene.gate.online
    scene.clock += timedelta(minutes=20)
    events = scene.car(2, reading(VISITOR_PLATE))
    assert "pay at the guard" in events[-1].message
    scene.gate.lanes["exit-1"].paid("guard")
    assert len(scene.gate.unsent) == 2
    scene.uplink.online = True
    assert scene.gate.resend() == 2
    assert [p for p, _, _ in scene.uplink.sent] == ["/v1/parking/entries", "/v1/parking/exits"]


@pytest.mark.parametrize("plate", [PASS_PLATE, RESIDENT_PLATE])
def test_an_unknown_plate_at_the_exit_follows_the_rule(plate: str) -> None:
    book = ParkingBook(snapshot())
    decision = book.exit(plate, T0)
    assert decision.situation == "exit_without_entry"
    assert decision.review
    assert decision.pay_by == "free"


def test_a_visitor_pays_by_qr_with_the_sandbox_provider() -> None:
    scene = Scene()
    scene.car(1, reading(VISITOR_PLATE))
    scene.drive_through(1)
    scene.clock += timedelta(minutes=90)
    events = scene.car(2, reading(VISITOR_PLATE))
    assert kinds(events) == ["await_payment"]
    assert "https://pay.sandbox.invalid/sbx-000001" in events[0].message
    assert events[0].amount == 2000
    for _ in range(5):  # the driver reaches for the phone
        assert scene.step() == []
    assert scene.board.relays[1] is False
    scene.payments.pay("sbx-000001")
    events = scene.step()
    assert kinds(events) == ["opened"]
    assert events[0].record["payment_reference"] == "sbx-000001"
    _, body, _ = scene.uplink.sent[-1]
    assert body["paid_by"] == "qr"
    assert body["provider"] == "sandbox"
    assert body["amount"] == 2000


def test_a_declined_qr_payment_keeps_the_arm_down() -> None:
    scene = Scene()
    scene.car(1, reading(VISITOR_PLATE))
    scene.drive_through(1)
    scene.clock += timedelta(minutes=30)
    scene.car(2, reading(VISITOR_PLATE))
    scene.payments.decline("sbx-000001")
    events = scene.step()
    assert kinds(events) == ["payment_failed"]
    assert scene.board.relays[1] is False
    assert scene.gate.lanes["exit-1"].paid("guard")[-1].kind == "opened"


def test_a_restarted_gate_tells_the_server_what_its_journal_holds(tmp_path: Path) -> None:
    from offline_queue.identity import Identity
    from offline_queue.journal import Journal

    identity = Identity.generate("gate-1")
    scene = Scene()
    scene.gate.journal = journal = Journal(tmp_path / "journal.sqlite3", identity)
    scene.uplink.online = False
    scene.car(1, reading(VISITOR_PLATE))
    scene.drive_through(1)
    scene.car(1, reading(RESIDENT_PLATE))
    scene.drive_through(1)
    journal.close()
    # The power comes back; the network too.
    restarted = Scene()
    restarted.gate.journal = Journal(tmp_path / "journal.sqlite3", identity)
    assert restarted.gate.recover() == 2
    assert restarted.gate.resend() == 2
    assert [key for _, _, key in restarted.uplink.sent] == ["gate-1:1", "gate-1:2"]
    assert restarted.gate.journal.meta("parking_uplink_seq") == "2"  # type: ignore[attr-defined]
    restarted.gate.unsent.clear()
    assert restarted.gate.recover() == 0


def test_a_car_that_backs_out_of_the_entry_never_came_in() -> None:
    scene = Scene(passage=True)
    scene.car(1, reading(RESIDENT_PLATE))
    assert RESIDENT_PLATE in scene.book.inside
    events = scene.drive_through(1)  # off the first loop, never onto the second
    assert kinds(events) == ["reversed_out", "closed"]
    assert RESIDENT_PLATE not in scene.book.inside  # the default rule cancels the entry
    path, body, _ = scene.uplink.sent[-1]
    assert path == "/v1/parking/reversals"
    assert body["direction"] == "entry"
    assert scene.journal.entries[-1][1]["event"] == "reversed_out"


def test_a_car_that_passes_reaches_the_second_loop() -> None:
    scene = Scene(passage=True)
    scene.car(1, reading(RESIDENT_PLATE))
    scene.board.inputs[PASSAGE_IN - 1] = True
    scene.step()
    scene.board.inputs[PASSAGE_IN - 1] = False
    assert kinds(scene.drive_through(1)) == ["closed"]
    assert RESIDENT_PLATE in scene.book.inside


def test_a_car_that_paid_and_backs_out_of_the_exit_is_still_inside() -> None:
    scene = Scene(passage=True)
    scene.book.passes.clear()
    scene.car(1, reading(RESIDENT_PLATE))
    scene.board.inputs[PASSAGE_IN - 1] = True
    scene.step()
    scene.board.inputs[PASSAGE_IN - 1] = False
    scene.drive_through(1)
    scene.clock += timedelta(minutes=50)
    assert scene.car(2, reading(RESIDENT_PLATE))[-1].amount == 500
    assert kinds(scene.drive_through(2)) == ["reversed_out", "closed"]
    assert scene.book.inside[RESIDENT_PLATE].paid_at == scene.clock
    scene.clock += timedelta(minutes=10)  # inside the grace period
    events = scene.car(2, reading(RESIDENT_PLATE))
    assert events[-1].amount == 0


def test_the_gate_prices_a_pass_that_ended_mid_stay_by_the_rule() -> None:
    data = snapshot()
    data["passes"][0]["valid_until"] = "2026-11-24"  # ends at midnight, Shanghai time
    book = ParkingBook(data)
    midnight = datetime(2026, 11, 25, tzinfo=book.zone)
    assert book.enter(PASS_PLATE, MatchKind.EXACT, midnight - timedelta(hours=2), "in").kind == (
        "pass"
    )
    decision = book.exit(PASS_PLATE, midnight + timedelta(minutes=90))
    assert decision.situation == "pass_expired_mid_stay"
    assert decision.due == 1000  # two started hours after the end, resident rate
    assert decision.pay_by is None  # the wallet holds 500: the driver pays another way
    data["rules"] = {"pass_expired_mid_stay": {"action": "charge_maximum", "maximum": 300}}
    book.load(data)
    assert book.exit(PASS_PLATE, midnight + timedelta(minutes=90)).pay_by == "wallet"


def test_the_gate_lets_out_a_stay_paid_in_advance() -> None:
    book = ParkingBook(snapshot())
    book.enter(VISITOR_PLATE, MatchKind.EXACT, T0, "in")
    assert book.exit(VISITOR_PLATE, T0 + timedelta(minutes=50)).due == 1000
    data = snapshot()
    data["paid"] = {book.digest(VISITOR_PLATE): (T0 + timedelta(minutes=45)).isoformat()}
    book.load(data)
    decision = book.exit(VISITOR_PLATE, T0 + timedelta(minutes=55))
    assert decision.due == 0
    assert decision.pay_by == "free"
    assert book.exit(VISITOR_PLATE, T0 + timedelta(minutes=70)).due == 1000  # overstayed
