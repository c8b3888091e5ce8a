"""The simulated meter: load shapes, registers, commands applied once, the gas valve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from domain.metering_messages import Action, Command, SupplyState
from terminal_drivers.meter.model import SimMeter

T0 = datetime(2026, 3, 2, 0, tzinfo=UTC)


def command(action: Action, n: int = 1, **kw: object) -> Command:
    return Command(f"c{n}", "E-1", action, T0, **kw)  # type: ignore[arg-type]


def test_registers_advance_and_split_peak_and_valley() -> None:
    sim = SimMeter("E-1", "electricity", rate_registers=True)
    sim.last_at = T0
    reading = sim.advance(T0 + timedelta(days=1))
    assert reading.registers is not None
    assert reading.value > 0
    assert sum(reading.registers.values()) == reading.value
    assert reading.registers["valley"] > 0
    assert reading.registers["peak"] > 0


def test_the_register_rolls_over_at_its_digits() -> None:
    sim = SimMeter("E-1", "electricity", digits=3, value=Decimal("999.9"), scale=10)
    sim.last_at = T0
    assert sim.advance(T0 + timedelta(hours=12)).value < Decimal(999)


def test_a_cut_meter_uses_nothing_and_commands_apply_once() -> None:
    sim = SimMeter("E-1", "electricity")
    sim.last_at = T0
    report = sim.apply(command(Action.CUT), T0)
    assert report.state is SupplyState.OFF
    assert report.command_id == "c1"
    before = sim.value
    assert sim.advance(T0 + timedelta(hours=5)).value == before
    sim.apply(command(Action.RESTORE, 2), T0)
    # The old cut delivered again (a retry) changes nothing, and says the state now.
    assert sim.apply(command(Action.CUT), T0).state is SupplyState.ON


def test_limited_load_is_capped() -> None:
    sim = SimMeter("E-1", "electricity", scale=50)
    sim.last_at = T0
    sim.apply(command(Action.LIMIT, limit_w=500), T0)
    assert sim.advance(T0 + timedelta(hours=4)).value <= Decimal(2)


def test_an_armed_valve_waits_for_the_resident() -> None:
    sim = SimMeter("G-1", "gas")
    sim.apply(command(Action.CUT), T0)
    assert sim.apply(command(Action.ARM, 2), T0).state is SupplyState.ARMED
    assert sim.resident_opens_valve()
    assert sim.state is SupplyState.ON


def test_an_expired_command_is_ignored() -> None:
    sim = SimMeter("G-1", "gas", power="battery")
    late = command(Action.CUT, expires_at=T0 + timedelta(hours=1))
    assert sim.apply(late, T0 + timedelta(hours=2)).state is SupplyState.ON
