"""One simulated meter: a register that follows a daily load shape and obeys commands.

Usage per hour is the utility's mean for that local hour times a per-meter scale
and some noise, rounded to the register's resolution (0.001). A cut supply uses
nothing, a limited one at most its load cap, an armed gas valve nothing until the
resident opens it. Commands apply once each (by id), whatever the transport
repeats, and every command is answered with the state the meter is now in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from domain.metering_messages import Action, Command, Reading, StateReport, SupplyState

RESOLUTION = Decimal("0.001")

# Mean use in each local hour (kWh or m3) of a typical flat.
SHAPES: dict[str, tuple[float, ...]] = {
    "electricity": (
        0.25, 0.22, 0.2, 0.2, 0.2, 0.25, 0.5, 0.9, 0.8, 0.45, 0.35, 0.4,
        0.55, 0.45, 0.35, 0.35, 0.45, 0.8, 1.3, 1.5, 1.4, 1.1, 0.8, 0.45,
    ),
    "water": (
        0.0, 0.0, 0.0, 0.0, 0.0, 0.01, 0.04, 0.06, 0.04, 0.02, 0.01, 0.02,
        0.03, 0.02, 0.01, 0.01, 0.01, 0.02, 0.04, 0.05, 0.05, 0.04, 0.03, 0.01,
    ),
    "gas": (
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.05, 0.1, 0.05, 0.0, 0.0, 0.08,
        0.12, 0.03, 0.0, 0.0, 0.0, 0.1, 0.2, 0.12, 0.03, 0.0, 0.0, 0.0,
    ),
}  # fmt: skip
VALLEY = range(0, 6)  # 22:00-06:00 local is the valley rate
VALLEY_LATE = range(22, 24)


@dataclass
class SimMeter:
    serial: str
    utility: str
    value: Decimal = Decimal(0)
    power: str = "mains"
    digits: int = 8
    rate_registers: bool = False
    scale: float = 1.0
    seed: int = 0
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    state: SupplyState = SupplyState.ON
    limit_w: int | None = None
    registers: dict[str, Decimal] | None = None
    applied: dict[str, SupplyState] = field(default_factory=dict)
    last_at: datetime | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(f"{self.serial}:{self.seed}")
        if self.rate_registers and self.registers is None:
            self.registers = {"peak": Decimal(0), "valley": Decimal(0)}

    def _hour_use(self, local: datetime, fraction: float) -> Decimal:
        if self.state in (SupplyState.OFF, SupplyState.ARMED):
            return Decimal(0)
        mean = SHAPES[self.utility][local.hour] * self.scale
        use = max(0.0, self.rng.gauss(mean, mean * 0.3)) * fraction
        if self.state is SupplyState.LIMITED and self.limit_w is not None:
            use = min(use, self.limit_w / 1000 * fraction)
        return Decimal(str(use)).quantize(RESOLUTION)

    def advance(self, to: datetime) -> Reading:
        """Use the supply up to ``to`` and read the registers."""
        start = self.last_at or to
        at = start
        while at < to:
            step_end = min(to, at.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
            fraction = (step_end - at).total_seconds() / 3600
            local = at.astimezone(self.zone)
            use = self._hour_use(local, fraction)
            self.value = (self.value + use) % (Decimal(10) ** self.digits)
            if self.registers is not None:
                rate = "valley" if local.hour in VALLEY or local.hour in VALLEY_LATE else "peak"
                self.registers[rate] = (self.registers[rate] + use) % (Decimal(10) ** self.digits)
            at = step_end
        self.last_at = to
        return Reading(
            self.serial,
            to,
            self.value,
            None if self.registers is None else dict(self.registers),
            self.state,
        )

    def apply(self, command: Command, now: datetime) -> StateReport:
        """Obey a command once; answer every copy of it with the state now."""
        if command.id not in self.applied:
            if command.expires_at is not None and now > command.expires_at:
                self.applied[command.id] = self.state  # too late: ignored, state reported
            else:
                if command.action is Action.CUT:
                    self.state = SupplyState.OFF
                elif command.action is Action.LIMIT:
                    self.state, self.limit_w = SupplyState.LIMITED, command.limit_w
                elif command.action is Action.RESTORE:
                    self.state = SupplyState.ON
                elif command.action is Action.ARM and self.state is SupplyState.OFF:
                    self.state = SupplyState.ARMED
                self.applied[command.id] = self.state
        return StateReport(self.serial, self.state, now, command.id)

    def apply_report(self, now: datetime) -> StateReport:
        """An unprompted state report (after the resident opened a valve)."""
        return StateReport(self.serial, self.state, now)

    def resident_opens_valve(self) -> bool:
        """The resident presses the button on an armed gas valve."""
        if self.state is SupplyState.ARMED:
            self.state = SupplyState.ON
            return True
        return False
