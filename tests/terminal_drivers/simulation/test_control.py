"""The control channel (JSON lines over TCP), pacing, and ``prepaid sim``."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from terminal_drivers.bill_acceptor import id003
from terminal_drivers.bill_acceptor.codes import Command
from terminal_drivers.bill_acceptor.simulator import BillAcceptorSimulator
from terminal_drivers.simulation.control import ControlServer, answer, send_command
from terminal_drivers.transport import open_transport
from tests.terminal_drivers.support import no_leaked_threads

__all__ = ["no_leaked_threads"]


@pytest.fixture
def sim(no_leaked_threads: None) -> Iterator[BillAcceptorSimulator]:
    simulator = BillAcceptorSimulator()
    simulator.start()
    yield simulator
    simulator.stop()


def test_commands_over_tcp(sim: BillAcceptorSimulator) -> None:
    control = ControlServer(sim)
    address = control.start()
    try:
        assert send_command(address, {"cmd": "insert", "value": 20}) == {
            "ok": True,
            "result": {"queued": 2000},
        }
        reply = send_command(address, {"cmd": "remove_cassette"})
        assert reply["result"] == {"cassette_present": False}
        bad = send_command(address, {"cmd": "levitate"})
        assert bad["ok"] is False
        assert "known: " in bad["error"]
        wrong = send_command(address, {"cmd": "insert", "colour": "red"})
        assert wrong["ok"] is False
    finally:
        control.stop()


def test_malformed_requests_get_an_error_reply(sim: BillAcceptorSimulator) -> None:
    assert answer(sim, b"not json")["ok"] is False
    assert answer(sim, b"[1, 2]")["ok"] is False


def test_pacing_takes_the_time_the_line_would(no_leaked_threads: None) -> None:
    sim = BillAcceptorSimulator(baud=1200, pace=True)
    sim.start()
    try:
        transport = open_transport(sim.endpoint)
        transport.write(id003.encode(Command.GET_VERSION))
        started = time.monotonic()
        reply = b""
        while len(reply) < 28 and time.monotonic() - started < 2:
            reply += transport.read(64, 0.5)
        elapsed = time.monotonic() - started
        transport.close()
    finally:
        sim.stop()
    # 28 bytes of 11 bits (8E1) at 1200 baud: about 0.26 s on a real line.
    assert len(reply) == 28
    assert elapsed > 0.2


def test_prepaid_sim_prints_where_to_connect() -> None:
    code = "import sys; from cli.main import main; sys.exit(main(sys.argv[1:]))"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "sim", "coin-acceptor"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        device = process.stdout.readline().split()[1]
        address = process.stdout.readline().split()[1]
        assert device.startswith("/dev/pts/")
        # No driver has enabled the coins: the acceptor refuses it as inhibited.
        reply = send_command(address, {"cmd": "coin", "value": 200})
        assert reply == {"ok": True, "result": {"rejected": "inhibited", "counter": 1}}
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
