"""Every simulator control command is documented in the README (sqlite-utils' habit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from terminal_drivers.simulation.serial_device import SerialSimulator

README = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "name",
    ["bill-acceptor", "coin-acceptor", "printer", "relay-board", "uid-reader", "qr-scanner"],
)
def test_every_control_command_is_in_the_readme(name: str) -> None:
    from terminal_drivers.simulation.registry import create_simulator

    simulator = create_simulator(name)  # not started: only its command table is read
    assert isinstance(simulator, SerialSimulator)
    missing = [cmd for cmd in simulator.command_table() if f'"cmd": "{cmd}"' not in README]
    assert not missing, f"{name}: document {missing} in README 'Terminal devices and simulators'"


def test_prepaid_sim_usage_is_in_the_readme() -> None:
    assert "prepaid sim bill-acceptor|coin-acceptor|printer" in README
