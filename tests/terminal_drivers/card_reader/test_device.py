"""``CardReader``: what a kiosk or turnstile controller uses, against the simulator.

With ``PREPAID_TEST_CARD_READER=pcsc://<reader>`` and a genuine estate card on a
real reader (keys in ``PREPAID_TEST_CARD_MASTER_KEY``/``..._SYSTEM_ID``, hex),
the ``hardware`` test runs the same read against the hardware.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from terminal_drivers.card_reader.demo_keys import DEMO_MASTER_KEY, DEMO_SYSTEM_ID
from terminal_drivers.card_reader.device import CardReader, self_test
from terminal_drivers.card_reader.estate_app import Assurance
from terminal_drivers.card_reader.simulator import CardSimulator
from terminal_drivers.self_test import run_self_test

from .conftest import TEST_READER

URL = f"pcsc://{TEST_READER}"


@pytest.fixture
def card_reader(reader: object) -> CardReader:
    # ``reader`` first: it waits until no card is left from an earlier test.
    return CardReader.open(URL, master_key=DEMO_MASTER_KEY, system_id=DEMO_SYSTEM_ID)


def test_one_reading_per_tap(simulator: CardSimulator, card_reader: CardReader) -> None:
    with card_reader:
        assert card_reader.wait_for_tap(0.2) is None  # nothing tapped yet
        simulator.tap("3003")
        reading = card_reader.wait_for_tap(3)
        assert reading is not None
        assert reading.card_number == "3003"
        assert reading.assurance is Assurance.HIGH
        # The card stays on the reader: it is not read a second time.
        assert card_reader.wait_for_tap(0.6) is None
        simulator.remove()
        simulator.tap("3004")
        second = card_reader.wait_for_tap(3)
        assert second is not None
        assert second.card_number == "3004"


def test_self_test_function(pcscd: None) -> None:
    assert self_test(URL).ok
    missing = self_test("pcsc://No Such Reader")
    assert not missing.ok
    assert "no PC/SC reader named 'No Such Reader'" in missing.reason
    assert "not a PC/SC reader URL" in self_test("serial:///dev/ttyUSB0").reason


def test_simulator_start_says_what_is_missing() -> None:
    env = dict(os.environ, PCSCLITE_CSOCK_NAME="/nonexistent/pcscd.comm")
    code = (
        "from terminal_drivers.card_reader.simulator import CardSimulator\n"
        "try:\n"
        "    CardSimulator().start()\n"
        "except Exception as err:\n"
        "    print(type(err).__name__, err)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30
    )
    assert out.stdout.startswith("ReaderUnavailable no PC/SC reader named 'Virtual PCD 00 00'")
    assert "is pcscd running?" in out.stdout
    assert "vsmartcard-vpcd" in out.stdout


@pytest.mark.hardware
def test_genuine_card_on_real_hardware() -> None:
    url = os.environ.get("PREPAID_TEST_CARD_READER")
    if not url:
        pytest.skip("set PREPAID_TEST_CARD_READER=pcsc://<reader> to test real hardware")
    master = bytes.fromhex(os.environ["PREPAID_TEST_CARD_MASTER_KEY"])
    system_id = bytes.fromhex(os.environ["PREPAID_TEST_CARD_SYSTEM_ID"])
    with CardReader.open(url, master_key=master, system_id=system_id) as card_reader:
        assert card_reader.self_test().ok
        print("tap a genuine estate card within 20 s")
        reading = card_reader.wait_for_tap(20)
    assert reading is not None
    assert reading.assurance is Assurance.HIGH


def test_provision_doctor_registry(simulator: CardSimulator) -> None:
    # The technician's check by device kind, as ``prepaid provision doctor`` runs it.
    ok = run_self_test("card", simulator.start())
    assert ok.ok, ok.reason
    absent = run_self_test("card", "pcsc://No Such Reader")
    assert str(absent).startswith("FAIL contactless card reader (PC/SC) at pcsc://No Such Reader")
