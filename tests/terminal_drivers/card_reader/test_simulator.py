"""The card simulator's control API, over the shared JSON-lines control channel."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from terminal_drivers.card_reader.errors import CardNotGenuine, CardRemoved
from terminal_drivers.card_reader.estate_app import Assurance, EstateCardApp
from terminal_drivers.card_reader.pcsc import PcscReader
from terminal_drivers.card_reader.simulator import CardSimulator, demo_uid
from terminal_drivers.simulation.control import ControlServer, send_command
from terminal_drivers.simulation.registry import create_simulator

from .conftest import TEST_PORT, TEST_READER


@pytest.fixture
def control(simulator: CardSimulator) -> Iterator[str]:
    server = ControlServer(simulator)
    address = server.start()
    yield address
    server.stop()


def test_registry_knows_the_card_simulator(pcscd: None) -> None:
    simulator = create_simulator("card", port=TEST_PORT, baud=9600, pace=False)
    assert simulator.start() == f"pcsc://{TEST_READER}"
    simulator.stop()


def test_control_channel_drives_the_cards(
    control: str, reader: PcscReader, estate_app: EstateCardApp
) -> None:
    reply = send_command(control, {"cmd": "tap", "card": "2002"})
    assert reply["ok"]
    assert reply["result"]["card"]["kind"] == "genuine"
    assert reply["result"]["card"]["uid"] == demo_uid("2002").hex().upper()
    with reader.connect(timeout=3) as connection:
        reading = estate_app.read(connection)
    assert reading.assurance is Assurance.HIGH
    assert reading.card_number == "2002"

    assert send_command(control, {"cmd": "clone", "card": "2002"})["ok"]
    with reader.connect(timeout=3) as connection, pytest.raises(CardNotGenuine):
        estate_app.read(connection)

    assert send_command(control, {"cmd": "uid_only", "uid": "0A0B0C0D"})["ok"]
    with reader.connect(timeout=3) as connection:
        assert estate_app.read(connection).assurance is Assurance.LOW

    assert send_command(control, {"cmd": "remove"})["result"]["card"] is None


def test_pull_arms_the_card_in_the_field(
    control: str, simulator: CardSimulator, reader: PcscReader, estate_app: EstateCardApp
) -> None:
    assert send_command(control, {"cmd": "tap", "card": "2002"})["ok"]
    reply = send_command(control, {"cmd": "pull", "after": 2})  # after GET UID and SELECT
    assert reply["result"]["card"]["pull_after"] == 2
    with reader.connect(timeout=3) as connection, pytest.raises(CardRemoved):
        estate_app.read(connection)


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        ({"cmd": "fly"}, "unknown command 'fly'"),
        ({"cmd": "tap"}, "missing 'card'"),
        ({"cmd": "uid_only", "uid": "zz"}, "hex"),
        ({"cmd": "pull"}, "no card in the field"),
        ({"cmd": "pull", "card": "1", "after": -1}, "after"),
    ],
)
def test_bad_commands_are_answered_not_raised(
    control: str, request_: dict[str, object], error: str
) -> None:
    reply = send_command(control, request_)
    assert not reply["ok"]
    assert error in reply["error"]


def test_prepaid_sim_card_prints_the_reader(pcscd: None) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "sim", "card", "--control-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        device = proc.stdout.readline()
        control = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert device.split() == ["device:", "pcsc://Virtual", "PCD", "00", "00"], err
    assert control.startswith("control: tcp://127.0.0.1:")
    # sim_cli installs its SIGTERM handler after printing: either way it ended.
    assert proc.returncode in (0, -signal.SIGTERM), err
