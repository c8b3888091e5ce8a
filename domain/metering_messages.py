"""Wire messages between household meters and the server (HTTP bodies and MQTT payloads).

Register values travel as decimal strings (never floats) and times as ISO 8601
with an offset. Topics, for MQTT (QoS 1 both ways)::

    prepaid/meters/<serial>/reading   meter -> server   a Reading
    prepaid/meters/<serial>/state     meter -> server   a StateReport (also the ack)
    prepaid/meters/<serial>/command   server -> meter   a Command
    prepaid/gateways/<id>/readings    gateway -> server {"readings": [Reading, ...]}

A gateway (a data concentrator reading many meters over M-Bus or RS-485) sends
its readings in batches on its own topic; commands still go to each meter's topic.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

TOPIC_ROOT = "prepaid/meters"
MAX_REGISTER = Decimal(10) ** 12  # twelve digits: more than any household register shows


class MessageError(ValueError):
    """A message that does not parse: the sender must fix it; retrying will not help."""


class Action(StrEnum):
    CUT = "cut"  # open the relay / close the valve
    LIMIT = "limit"  # electricity: cap the load at limit_w
    RESTORE = "restore"  # close the relay
    ARM = "arm"  # gas: arm the valve; the resident opens it at the meter


class SupplyState(StrEnum):
    ON = "on"
    OFF = "off"
    LIMITED = "limited"
    ARMED = "armed"  # a gas valve armed, waiting for the resident


GATEWAY_ROOT = "prepaid/gateways"


def gateway_topic(gateway: str) -> str:
    return f"{GATEWAY_ROOT}/{gateway}/readings"


def gateway_readings(payload: bytes | bytearray) -> tuple[list[Reading], list[str]]:
    """The readings of a gateway's batch message, and why any item was refused
    (one bad reading does not take its neighbours down)."""
    data = decode_json(payload)
    items = data.get("readings")
    if not isinstance(items, list):
        raise MessageError('a gateway batch is {"readings": [...]}')
    readings: list[Reading] = []
    refused: list[str] = []
    for i, item in enumerate(items):
        try:
            readings.append(Reading.from_json(item))
        except MessageError as err:
            refused.append(f"readings[{i}]: {err}")
    return readings, refused


def reading_topic(serial: str) -> str:
    return f"{TOPIC_ROOT}/{serial}/reading"


def state_topic(serial: str) -> str:
    return f"{TOPIC_ROOT}/{serial}/state"


def command_topic(serial: str) -> str:
    return f"{TOPIC_ROOT}/{serial}/command"


def serial_of(topic: str) -> tuple[str, str]:
    """``prepaid/meters/E-1/reading`` -> ``("E-1", "reading")``."""
    parts = topic.split("/")
    if len(parts) != 4 or "/".join(parts[:2]) != TOPIC_ROOT:
        raise MessageError(f"not a meter topic: {topic!r}")
    return parts[2], parts[3]


def _time(value: Any, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise MessageError(f"{name}: not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise MessageError(f"{name}: a time needs its UTC offset")
    return moment


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, float | bool):
        raise MessageError(f"{name}: send register values as decimal strings")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise MessageError(f"{name}: not a number: {value!r}") from None
    if not number.is_finite() or number < 0 or number >= MAX_REGISTER:
        raise MessageError(f"{name}: a register reads a number from 0 to under 10^12")
    if number.as_tuple().exponent < -9:  # type: ignore[operator]
        raise MessageError(f"{name}: at most 9 decimal places")
    return number


@dataclass(frozen=True, slots=True)
class Reading:
    serial: str
    taken_at: datetime
    value: Decimal  # the total register, in register units before the multiplier
    registers: Mapping[str, Decimal] | None = None  # per-rate registers (peak, valley, ...)
    supply: SupplyState | None = None  # the relay or valve as the meter sees it

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "serial": self.serial,
            "taken_at": self.taken_at.isoformat(),
            "value": str(self.value),
        }
        if self.registers is not None:
            data["registers"] = {k: str(v) for k, v in self.registers.items()}
        if self.supply is not None:
            data["supply"] = self.supply.value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], serial: str | None = None) -> Reading:
        if not isinstance(data, Mapping):
            raise MessageError("a reading is a JSON object")
        name = serial if serial is not None else data.get("serial")
        if not isinstance(name, str) or not name:
            raise MessageError("serial: missing")
        registers = data.get("registers")
        if registers is not None and not isinstance(registers, Mapping):
            raise MessageError("registers: an object of rate -> value")
        supply = data.get("supply")
        try:
            state = None if supply is None else SupplyState(supply)
        except ValueError:
            raise MessageError(f"supply: unknown state {supply!r}") from None
        return cls(
            serial=name,
            taken_at=_time(data.get("taken_at"), "taken_at"),
            value=_decimal(data.get("value"), "value"),
            registers=None
            if registers is None
            else {str(k): _decimal(v, f"registers.{k}") for k, v in registers.items()},
            supply=state,
        )


@dataclass(frozen=True, slots=True)
class Command:
    id: str
    serial: str
    action: Action
    issued_at: datetime
    expires_at: datetime | None = None
    limit_w: int | None = None
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "serial": self.serial,
            "action": self.action.value,
            "issued_at": self.issued_at.isoformat(),
            "expires_at": None if self.expires_at is None else self.expires_at.isoformat(),
            "limit_w": self.limit_w,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Command:
        try:
            action = Action(data["action"])
            expires = data.get("expires_at")
            limit = data.get("limit_w")
            return cls(
                id=str(data["id"]),
                serial=str(data["serial"]),
                action=action,
                issued_at=_time(data["issued_at"], "issued_at"),
                expires_at=None if expires is None else _time(expires, "expires_at"),
                limit_w=None if limit is None else int(limit),
                reason=str(data.get("reason", "")),
            )
        except (KeyError, ValueError, TypeError) as err:
            if isinstance(err, MessageError):
                raise
            raise MessageError(f"not a command: {err}") from err


@dataclass(frozen=True, slots=True)
class StateReport:
    """The meter's relay or valve state; ``command_id`` acknowledges a command."""

    serial: str
    state: SupplyState
    at: datetime
    command_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "state": self.state.value,
            "at": self.at.isoformat(),
            "command_id": self.command_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], serial: str | None = None) -> StateReport:
        try:
            return cls(
                serial=str(serial if serial is not None else data["serial"]),
                state=SupplyState(data["state"]),
                at=_time(data["at"], "at"),
                command_id=None if data.get("command_id") is None else str(data["command_id"]),
            )
        except (KeyError, ValueError, TypeError) as err:
            if isinstance(err, MessageError):
                raise
            raise MessageError(f"not a state report: {err}") from err


def encode(message: Reading | Command | StateReport) -> bytes:
    return json.dumps(message.to_json(), separators=(",", ":")).encode()


def decode_json(payload: bytes | bytearray) -> Mapping[str, Any]:
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as err:
        raise MessageError(f"not JSON: {err}") from err
    if not isinstance(data, dict):
        raise MessageError("a message is a JSON object")
    return data
