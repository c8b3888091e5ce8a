"""Through a real pcscd and the vpcd reader: the virtual card as pcscd sees a real one."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from terminal_drivers.card_reader.errors import CardNotGenuine, CardRemoved, NoCard
from terminal_drivers.card_reader.estate_app import Assurance, EstateCardApp
from terminal_drivers.card_reader.pcsc import (
    CardEvent,
    CardWatcher,
    PcscReader,
    list_readers,
    open_url,
    reader_name_from_url,
)
from terminal_drivers.card_reader.simulator import CardSimulator, demo_uid
from terminal_drivers.errors import ConfigurationError
from terminal_drivers.transport.base import Direction, TraceEvent

from .conftest import TEST_READER

# pcscd polls: insertion shows up within 0.5 s, removal within about 0.4 s (PLATFORM.md).
EVENT_TIMEOUT = 3.0


def read_card(reader: PcscReader, app: EstateCardApp) -> object:
    with reader.connect(timeout=EVENT_TIMEOUT) as connection:
        return app.read(connection)


def test_lists_the_vpcd_readers(pcscd: None) -> None:
    assert TEST_READER in list_readers()


def test_insert_and_remove_events(simulator: CardSimulator, reader: PcscReader) -> None:
    assert reader.wait_for_event(0.2) is CardEvent.REMOVED  # the first call reports the state
    simulator.tap("1001")
    assert reader.wait_for_event(EVENT_TIMEOUT) is CardEvent.INSERTED
    assert reader.is_card_present()
    simulator.remove()
    assert reader.wait_for_event(EVENT_TIMEOUT) is CardEvent.REMOVED
    assert reader.wait_for_event(0.2) is None


def test_genuine_card_is_authenticated_and_its_number_read(
    simulator: CardSimulator, reader: PcscReader, estate_app: EstateCardApp
) -> None:
    simulator.tap("1001")
    reading = read_card(reader, estate_app)
    assert reading == read_card(reader, estate_app)  # a second read in the same tap
    assert getattr(reading, "assurance", None) is Assurance.HIGH
    assert getattr(reading, "card_number", None) == "1001"
    assert getattr(reading, "uid", None) == demo_uid("1001")


def test_cloned_card_is_refused(
    simulator: CardSimulator, reader: PcscReader, estate_app: EstateCardApp
) -> None:
    simulator.tap_clone("1001")
    with pytest.raises(CardNotGenuine):
        read_card(reader, estate_app)


def test_uid_only_card_is_low_assurance(
    simulator: CardSimulator, reader: PcscReader, estate_app: EstateCardApp
) -> None:
    simulator.tap_uid_only(bytes.fromhex("0A0B0C0D"))
    reading = read_card(reader, estate_app)
    assert getattr(reading, "assurance", None) is Assurance.LOW
    assert getattr(reading, "card_number", "x") is None
    assert getattr(reading, "uid", None) == bytes.fromhex("0A0B0C0D")


@pytest.mark.parametrize("after", [0, 3, 4])  # before GET UID, mid-authentication, before ReadData
def test_removal_mid_read_is_a_typed_error(
    simulator: CardSimulator, reader: PcscReader, estate_app: EstateCardApp, after: int
) -> None:
    card = simulator.pull_mid_read("1001", after=after)
    with pytest.raises(CardRemoved):
        read_card(reader, estate_app)
    assert card.pulled.is_set()
    assert reader.wait_for_removal(EVENT_TIMEOUT)


def test_quick_reinsert_then_read(
    simulator: CardSimulator, reader: PcscReader, estate_app: EstateCardApp
) -> None:
    # PLATFORM.md: after a quick re-insert pcscd may still hold the first card's
    # state (0x80100067 on connect, 0x80100016 on the first APDU): both are absorbed.
    for pause in (0.0, 0.05, 0.2):
        simulator.tap("1001")
        assert reader.wait_for_card(EVENT_TIMEOUT)
        simulator.remove(wait=False)
        time.sleep(pause)
        simulator.tap("1002")
        reading = read_card(reader, estate_app)
        assert getattr(reading, "card_number", None) == "1002"
        simulator.remove()


def test_connect_without_a_card(reader: PcscReader) -> None:
    with pytest.raises(NoCard):
        reader.connect(timeout=0.3)


def test_trace_hook_sees_every_apdu(
    simulator: CardSimulator, pcscd: None, estate_app: EstateCardApp
) -> None:
    events: list[TraceEvent] = []
    simulator.tap_uid_only(bytes.fromhex("0A0B0C0D"))
    with open_url(f"pcsc://{TEST_READER.replace(' ', '%20')}", trace=events.append) as reader:
        read_card(reader, estate_app)
    assert [(e.direction, e.data.hex()) for e in events] == [
        (Direction.WRITE, "ffca000000"),  # GET UID
        (Direction.READ, "0a0b0c0d9000"),
        (Direction.WRITE, "00a4040008f05052455041494400"),  # SELECT estate application
        (Direction.READ, "6a82"),  # not found: UID-only card
    ]
    assert all(e.url == f"pcsc://{TEST_READER}" for e in events)


def test_card_watcher_reports_events(simulator: CardSimulator, reader: PcscReader) -> None:
    seen: list[CardEvent] = []
    inserted = threading.Event()
    removed = threading.Event()

    def on_event(event: CardEvent) -> None:
        seen.append(event)
        (inserted if event is CardEvent.INSERTED else removed).set()

    watcher = CardWatcher(TEST_READER, on_event).start()
    try:
        time.sleep(0.3)
        simulator.tap("1001")
        assert inserted.wait(EVENT_TIMEOUT)
        removed.clear()
        simulator.remove()
        assert removed.wait(EVENT_TIMEOUT)
    finally:
        watcher.stop()
    assert watcher.error is None
    assert seen[-2:] == [CardEvent.INSERTED, CardEvent.REMOVED]


def test_self_test_passes_with_the_reader(reader: PcscReader) -> None:
    result = reader.self_test()
    assert result.ok, result.reason
    assert result.details["reader"] == TEST_READER


def test_self_test_names_a_missing_reader(pcscd: None) -> None:
    with PcscReader("ACS ACR122U 00 00") as reader:
        result = reader.self_test()
    assert not result.ok
    assert result.reason.startswith("no PC/SC reader named 'ACS ACR122U 00 00'")
    assert "is pcscd running? is the reader plugged in?" in result.reason


def test_self_test_without_pcscd() -> None:
    # pcsc-lite finds the service through this socket; pointing it nowhere is
    # what a terminal without pcscd sees. A child process, since libpcsclite
    # reads the variable once.
    env = dict(os.environ, PCSCLITE_CSOCK_NAME="/nonexistent/pcscd.comm")
    code = (
        "from terminal_drivers.card_reader.pcsc import PcscReader\n"
        f"print(PcscReader({TEST_READER!r}).self_test().reason)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    assert f"no PC/SC reader named {TEST_READER!r}" in out.stdout
    assert "is pcscd running?" in out.stdout


def test_reader_url() -> None:
    assert reader_name_from_url("pcsc://Virtual%20PCD%2000%2000") == "Virtual PCD 00 00"
    assert reader_name_from_url("pcsc://Virtual PCD 00 01") == "Virtual PCD 00 01"
    assert reader_name_from_url("pcsc://") == ""
    with pytest.raises(ConfigurationError):
        reader_name_from_url("serial:///dev/ttyUSB0")
