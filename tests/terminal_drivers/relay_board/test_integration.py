"""The relay board driver against the simulator over a real pty, in real RTU."""

from __future__ import annotations

import time

import pytest

from terminal_drivers.errors import DeviceNeedsTechnician, DeviceTimeout, ProtocolError
from terminal_drivers.relay_board.device import RelayBoard, self_test
from terminal_drivers.relay_board.simulator import RelayBoardSimulator
from terminal_drivers.simulation.registry import create_simulator
from terminal_drivers.transport import open_transport


def test_pulse_switches_the_relay_on_then_off(board: RelayBoard, sim: RelayBoardSimulator) -> None:
    board.pulse(2, 0.05)
    (t_on, relay_on, on), (t_off, relay_off, off) = sim.relay_log
    assert (relay_on, on, relay_off, off) == (2, True, 2, False)
    assert t_off - t_on >= 0.05
    assert board.read_relays() == [False] * 8


def test_hold_and_close(board: RelayBoard, sim: RelayBoardSimulator) -> None:
    board.hold_open(3)
    assert sim.coils[2] is True
    assert board.read_relays()[2] is True
    board.close_relay(3)
    assert sim.coils[2] is False


def test_inputs(board: RelayBoard, sim: RelayBoardSimulator) -> None:
    sim.vehicle(True)
    sim.fire_alarm(True)
    inputs = board.read_inputs()
    assert inputs.loop_detector
    assert inputs.fire_alarm
    assert not inputs.arm_up
    assert not inputs.rotation
    sim.fire_alarm(False)
    sim.arm_up(True)
    inputs = board.read_inputs()
    assert inputs.arm_up
    assert not inputs.fire_alarm


def test_release_one_sees_the_passage(board: RelayBoard, sim: RelayBoardSimulator) -> None:
    sim.rotate(ms=150, after_ms=20)  # during the pulse
    started = time.monotonic()
    assert board.release_one(1, pulse=0.1, timeout=2.0) is True
    assert time.monotonic() - started < 0.5  # done once the relay is off, not at the timeout
    assert sim.coils[0] is False


def test_release_one_without_a_passage(board: RelayBoard, sim: RelayBoardSimulator) -> None:
    started = time.monotonic()
    assert board.release_one(1, pulse=0.05, timeout=0.3) is False
    assert time.monotonic() - started >= 0.3
    assert sim.coils[0] is False


def test_faults(board: RelayBoard, sim: RelayBoardSimulator) -> None:
    sim.busy(1)
    board.hold_open(1)  # retried through "busy"
    sim.fail(1)
    with pytest.raises(DeviceNeedsTechnician):
        board.close_relay(1)
    sim.swallow_next(1)
    board.close_relay(1)  # the lost reply is asked again
    sim.corrupt_next(1)
    sim.send_garbage(data="00 FF 13")
    assert board.read_relays() == [False] * 8
    sim.corrupt_next(board.retries)
    with pytest.raises(ProtocolError):
        board.read_relays()
    sim.drop_line()
    with pytest.raises(DeviceTimeout):
        board.read_relays()
    sim.restore_line()
    assert board.read_relays() == [False] * 8


def test_another_unit_stays_silent(sim: RelayBoardSimulator) -> None:
    other = RelayBoard(open_transport(sim.endpoint), unit=7, reply_timeout=0.05, retries=1)
    try:
        with pytest.raises(DeviceTimeout):
            other.read_relays()
    finally:
        other.close()


def test_paced_line_and_self_test(no_leaked_threads: None) -> None:
    sim = RelayBoardSimulator(baud=9600, pace=True)
    sim.start()
    try:
        result = self_test(sim.endpoint)
        assert result.ok, result.reason
        assert result.details["relays"] == "00000000"
        sim.fire_alarm(True)
        result = self_test(sim.endpoint)
        assert not result.ok
        assert "fire-alarm" in result.reason
    finally:
        sim.stop()


def test_sim_url_and_control_commands(no_leaked_threads: None) -> None:
    board = RelayBoard.open("sim://relay-board", reply_timeout=0.1)
    try:
        simulator = board.transport.simulator  # type: ignore[attr-defined]
        simulator.handle_command({"cmd": "input", "terminal": 4, "on": True})
        assert board.read_inputs().fire_alarm
        board.set_all(True)
        assert simulator.handle_command({"cmd": "state"})["relays"] == "11111111"
    finally:
        board.close()
    assert create_simulator("relay-board").state()["unit"] == 1  # type: ignore[attr-defined]
