"""What a reading costs: the register step since the last charge (rollover and plausibility
judged) and its price under the meter's tariff versions, standing charge included."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from central.metering.batch_io import MeterState
from central.metering.environment import Environment
from domain.metering_messages import Reading
from domain.tariffs import TariffError, price_usage, standing_charge


def register_step(meter: MeterState, value: Decimal, hours: Decimal) -> tuple[Decimal | None, str]:
    """The register step to ``value``, rollover understood; None and why if it must be held."""
    limit = meter.max_per_hour * max(hours, Decimal(1) / 60)
    step = value - meter.last_value
    if step < 0:
        wrapped = value + Decimal(10) ** meter.digits - meter.last_value
        if wrapped * meter.multiplier <= limit:
            return wrapped, "rollover"
        return None, f"the register went back from {meter.last_value} to {value}"
    if step * meter.multiplier > limit:
        return None, (
            f"{step * meter.multiplier} in {hours:.2f} h is more than this meter can "
            f"plausibly use ({meter.max_per_hour} an hour)"
        )
    return step, ""


def _register_steps(
    meter: MeterState, registers: dict[str, Decimal] | None
) -> dict[str, Decimal] | None:
    if not meter.has_rate_registers or registers is None or meter.last_registers is None:
        return None
    steps = {}
    for name, value in registers.items():
        before = meter.last_registers.get(name, Decimal(0))
        step = value - before
        if step < 0:
            step += Decimal(10) ** meter.digits
        steps[name] = step * meter.multiplier
    return steps


def charge_for(
    meter: MeterState, env: Environment, reading: Reading, step: Decimal, zone: Any
) -> tuple[Decimal, Decimal]:
    usage = step * meter.multiplier
    versions = env.tariffs.get(meter.tariff_code)
    if not versions:
        raise TariffError(f"tariff {meter.tariff_code!r} does not exist")
    steps = _register_steps(meter, dict(reading.registers) if reading.registers else None)
    priced = price_usage(
        versions,
        zone=zone,
        start=meter.last_at,
        end=reading.taken_at,
        usage=usage if steps is None else sum(steps.values(), Decimal(0)),
        period=meter.period,
        registers=steps,
    )
    meter.period = priced.period
    if not any(t.standing_daily for t in versions):
        return priced.amount, usage
    standing, meter.standing_through = standing_charge(
        versions, zone=zone, through=meter.standing_through, upto=reading.taken_at
    )
    return priced.amount + standing, usage
