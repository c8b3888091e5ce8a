"""The technician's hardware check across device kinds, and the hardware-marked runs.

``PREPAID_TEST_BILL_ACCEPTOR``, ``PREPAID_TEST_COIN_ACCEPTOR``,
``PREPAID_TEST_PRINTER``, ``PREPAID_TEST_RELAY_BOARD``, ``PREPAID_TEST_UID_READER``
and ``PREPAID_TEST_QR_SCANNER`` (device URLs) run the same check against real
devices: ``pytest -m hardware`` on a terminal with the devices attached.
"""

from __future__ import annotations

import os

import pytest

from terminal_drivers.errors import ConfigurationError
from terminal_drivers.self_test import SELF_TESTS, run_self_test
from terminal_drivers.simulation.registry import create_simulator
from tests.terminal_drivers.support import no_leaked_threads

__all__ = ["no_leaked_threads"]

HARDWARE = {
    "bill-acceptor": "PREPAID_TEST_BILL_ACCEPTOR",
    "coin-acceptor": "PREPAID_TEST_COIN_ACCEPTOR",
    "printer": "PREPAID_TEST_PRINTER",
    "relay-board": "PREPAID_TEST_RELAY_BOARD",
    "uid-reader": "PREPAID_TEST_UID_READER",
    "qr-scanner": "PREPAID_TEST_QR_SCANNER",
}


@pytest.mark.parametrize("kind", sorted(HARDWARE))
def test_every_kind_passes_against_its_simulator(kind: str, no_leaked_threads: None) -> None:
    simulator = create_simulator(kind)
    endpoint = simulator.start()
    try:
        result = run_self_test(kind, endpoint)
    finally:
        simulator.stop()
    assert result.ok, result.reason


@pytest.mark.parametrize("kind", sorted(HARDWARE))
def test_every_kind_fails_clearly_when_absent(kind: str) -> None:
    result = run_self_test(kind, "/dev/ttyPREPAIDABSENT")
    assert not result.ok
    assert "/dev/ttyPREPAIDABSENT" in result.reason
    assert str(result).startswith("FAIL ")


def test_unknown_kind() -> None:
    with pytest.raises(ConfigurationError):
        run_self_test("toaster", "/dev/null")


def test_every_self_test_has_a_simulator() -> None:
    from terminal_drivers.simulation.registry import SIMULATORS

    assert set(HARDWARE) <= set(SELF_TESTS) & set(SIMULATORS)


@pytest.mark.hardware
@pytest.mark.parametrize("kind", sorted(HARDWARE))
def test_real_device(kind: str) -> None:
    url = os.environ.get(HARDWARE[kind])
    if not url:
        pytest.skip(f"set {HARDWARE[kind]} to the device URL to check real hardware")
    result = run_self_test(kind, url)
    assert result.ok, result.reason
