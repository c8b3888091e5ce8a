"""The relay board driver: ``RelayBoard`` owns one Modbus RTU unit on a line.

Relays are coils (function 05 writes one, 01 reads them back); the inputs are
discrete inputs (function 02). Terminals are numbered from 1 as printed on the
board; Modbus addresses from 0, so relay 1 is coil 0. The PDUs are pymodbus's
own message classes, so what goes on the wire is what the field's tools send;
the framing, retries and error mapping are ours, over any ``Transport``.

What an exception reply means to the caller (Modbus Application Protocol
V1.1b3, section 7):

- 01 illegal function, 02 illegal data address, 03 illegal data value: this
  board does not have that relay or input, a ``ConfigurationError``;
- 04 server device failure: ``DeviceNeedsTechnician``;
- 05 acknowledge, 06 server device busy: retried, then a ``DeviceTimeout``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from pymodbus.exceptions import ModbusException
from pymodbus.pdu import DecodePDU, ExceptionResponse, ModbusPDU
from pymodbus.pdu.bit_message import (
    ReadCoilsRequest,
    ReadDiscreteInputsRequest,
    WriteMultipleCoilsRequest,
    WriteSingleCoilRequest,
)

from terminal_drivers.device_log import DeviceLog
from terminal_drivers.errors import (
    ConfigurationError,
    DeviceNeedsTechnician,
    DeviceTimeout,
    DriverError,
    ProtocolError,
)
from terminal_drivers.relay_board import rtu
from terminal_drivers.self_test import SelfTestResult
from terminal_drivers.transport import LineSettings, TraceHook, Transport, open_transport

log = logging.getLogger(__name__)

# Most RS-485 relay boards ship at 9600 8N1, unit 1.
LINE = LineSettings(baud=9600, parity="N")
DEVICE_NAME = "relay board (Modbus RTU)"
INTER_FRAME_SILENCE = 0.05  # seconds of silence after which a partial reply is garbage

EXCEPTION_CODES: dict[int, str] = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge (busy with a long command)",
    6: "server device busy",
    8: "memory parity error",
}
_CONFIGURATION = {1, 2, 3}
_RETRY = {5, 6}


@dataclass(frozen=True)
class InputMap:
    """Which input terminal (from 1) each sensor is wired to; 0 = not wired."""

    loop_detector: int = 1  # a vehicle is over the loop
    arm_up: int = 2  # barrier arm fully up
    rotation: int = 3  # the turnstile's rotation sensor: one pulse a passage
    fire_alarm: int = 4  # the building's fire alarm panel contact

    @property
    def highest(self) -> int:
        return max(int(getattr(self, f.name)) for f in fields(self))


@dataclass(frozen=True)
class Inputs:
    """The sensors' state in one read."""

    loop_detector: bool
    arm_up: bool
    rotation: bool
    fire_alarm: bool
    raw: tuple[bool, ...]


class RelayBoard:
    def __init__(
        self,
        transport: Transport,
        *,
        unit: int = 1,
        relays: int = 8,
        inputs: InputMap | None = None,
        input_count: int = 8,
        reply_timeout: float = 0.2,
        retries: int = 3,
        baud: int | None = None,
    ) -> None:
        if not 1 <= unit <= 247:
            raise ConfigurationError(f"Modbus unit address must be 1..247, not {unit}")
        self.transport = transport
        self.log = DeviceLog(log, DEVICE_NAME, transport.url)
        self.unit = unit
        self.relays = relays
        self.input_map = inputs or InputMap()
        self.input_count = max(input_count, self.input_map.highest)
        self.reply_timeout = reply_timeout
        self.retries = retries
        self.gap = rtu.silent_interval(baud or LINE.baud)
        self._framer = rtu.Framer(replies=True)
        self._decoder = DecodePDU(is_server=False)
        self.online = True

    @classmethod
    def open(cls, url: str, *, trace: TraceHook | None = None, **options: Any) -> RelayBoard:
        transport = open_transport(url, trace=trace, defaults=LINE)
        return cls(transport, **options)

    def close(self) -> None:
        self.transport.close()

    @property
    def url(self) -> str:
        return self.transport.url

    # -- one request, one reply -------------------------------------------------------
    def transact(self, request: ModbusPDU) -> ModbusPDU:
        """Send one request PDU; return the reply PDU. Retries lost, garbled and busy."""
        wire = rtu.encode(rtu.Adu(self.unit, bytes([request.function_code]) + request.encode()))
        garbled = False
        for attempt in range(1, self.retries + 1):
            self._framer.clear()
            self._framer.take_discarded()
            self.transport.discard_input()
            self.transport.write(wire)
            adu = self._read_reply()
            garbage = self._framer.take_discarded() + self._framer.pending
            if garbage:
                garbled = True
                self.log.warning("discarded bytes %s", garbage.hex(" "))
            if adu is None:
                self.log.info(
                    "no valid reply to function %d (try %d)", request.function_code, attempt
                )
                continue
            if not self.online:
                self.log.warning("communication restored")
                self.online = True
            reply = self._decode(adu, request.function_code)
            if isinstance(reply, ExceptionResponse):
                code = int(reply.exception_code)
                meaning = EXCEPTION_CODES.get(code, f"exception {code}")
                if code in _RETRY:
                    self.log.info("board busy (%s), try %d", meaning, attempt)
                    time.sleep(self.reply_timeout / 2)
                    continue
                message = f"{self.url}: function {request.function_code} refused: {meaning}"
                if code in _CONFIGURATION:
                    raise ConfigurationError(f"{message}; check the board's relay and input count")
                raise DeviceNeedsTechnician(message, code=meaning.replace(" ", "_"))
            return reply
        self.online = False
        where = self.transport.description
        if garbled:
            raise ProtocolError(
                f"only garbled replies from unit {self.unit} on {where}: check the baud "
                "rate (9600 8N1 by default), the A/B wires and the termination"
            )
        raise DeviceTimeout(f"no reply from Modbus unit {self.unit} on {where}")

    def _decode(self, adu: rtu.Adu, function: int) -> ModbusPDU:
        if adu.function & 0x7F != function:
            raise ProtocolError(f"{self.url}: reply {adu} to function {function}")
        try:
            reply = self._decoder.decode(adu.pdu)
        except (ModbusException, ValueError, IndexError) as err:
            raise ProtocolError(f"{self.url}: undecodable reply {adu}: {err}") from err
        if reply is None:
            raise ProtocolError(f"{self.url}: undecodable reply {adu}")
        return reply

    def _read_reply(self) -> rtu.Adu | None:
        deadline = time.monotonic() + self.reply_timeout
        while (remaining := deadline - time.monotonic()) > 0:
            waiting = bool(self._framer.pending)
            # Inside a frame, a silence longer than t3.5 ends it on the wire; through a
            # USB adapter a frame may arrive in pieces up to the FTDI latency timer
            # (16 ms by default) apart, so the host waits 50 ms before it gives up on
            # what it holds and resynchronises.
            chunk = self.transport.read(
                256, min(remaining, max(self.gap, INTER_FRAME_SILENCE)) if waiting else remaining
            )
            frames = self._framer.feed(chunk) if chunk else self._framer.flush()
            for frame in frames:
                if frame.unit == self.unit:
                    return frame
                self.log.debug("ignored frame %s (another unit)", frame)
            if not chunk and not waiting:
                return None
        return None

    # -- relays ----------------------------------------------------------------------
    def _coil(self, relay: int) -> int:
        if not 1 <= relay <= self.relays:
            raise ConfigurationError(f"relay {relay} is not on a {self.relays}-relay board")
        return relay - 1

    def set_relay(self, relay: int, on: bool) -> None:
        address = self._coil(relay)
        reply = self.transact(WriteSingleCoilRequest(address=address, bits=[on]))
        # Write Single Coil echoes the request: a different echo is not our write.
        if reply.address != address or bool(reply.bits and reply.bits[0]) != on:
            raise ProtocolError(f"{self.url}: write coil {address} echoed {reply}")
        self.log.debug("relay %d %s", relay, "on" if on else "off")

    def pulse(self, relay: int, seconds: float = 0.3) -> None:
        """Close the contact for ``seconds`` and open it again (release one passage).

        If the off command fails the relay stays energised: the error goes up so
        the caller can raise an alarm, and ``close`` is tried once more first.
        """
        self.set_relay(relay, True)
        time.sleep(seconds)
        try:
            self.set_relay(relay, False)
        except DriverError:
            self.log.error("relay %d may still be on after a pulse: retrying", relay)
            self.set_relay(relay, False)

    def hold_open(self, relay: int) -> None:
        self.set_relay(relay, True)

    def close_relay(self, relay: int) -> None:
        self.set_relay(relay, False)

    def set_all(self, on: bool) -> None:
        """Every relay at once (function 15): a fire alarm opens every gate."""
        reply = self.transact(WriteMultipleCoilsRequest(address=0, bits=[on] * self.relays))
        if reply.count != self.relays:
            raise ProtocolError(f"{self.url}: write coils echoed {reply}")

    def read_relays(self) -> list[bool]:
        reply = self.transact(ReadCoilsRequest(address=0, count=self.relays))
        return [bool(b) for b in reply.bits[: self.relays]]

    # -- inputs ----------------------------------------------------------------------
    def read_raw_inputs(self) -> tuple[bool, ...]:
        reply = self.transact(ReadDiscreteInputsRequest(address=0, count=self.input_count))
        bits = tuple(bool(b) for b in reply.bits[: self.input_count])
        if len(bits) != self.input_count:
            raise ProtocolError(f"{self.url}: {len(bits)} inputs in a reply for {self.input_count}")
        return bits

    def read_inputs(self) -> Inputs:
        raw = self.read_raw_inputs()
        m = self.input_map

        def at(terminal: int) -> bool:
            return terminal > 0 and raw[terminal - 1]

        return Inputs(
            loop_detector=at(m.loop_detector),
            arm_up=at(m.arm_up),
            rotation=at(m.rotation),
            fire_alarm=at(m.fire_alarm),
            raw=raw,
        )

    def wait_for_rotation(self, timeout: float, *, poll: float = 0.02) -> bool:
        """True once the rotation sensor shows a passage (its input goes high)
        within ``timeout`` seconds. Rotation sensors give a pulse of 100 ms or
        more per passage, so polling every 20 ms does not miss one."""
        deadline = time.monotonic() + timeout
        was_high = self.read_inputs().rotation
        while time.monotonic() < deadline:
            high = self.read_inputs().rotation
            if high and not was_high:
                return True
            was_high = high
            time.sleep(poll)
        return False

    def release_one(
        self,
        relay: int,
        *,
        pulse: float = 0.3,
        timeout: float = 5.0,
        on_open: Callable[[], None] | None = None,
    ) -> bool:
        """Pulse ``relay`` and watch the rotation sensor from before the pulse:
        True if a passage was seen within ``timeout`` s of the pulse.

        The sensor is watched during the pulse too: a quick person can turn the
        arm before the contact opens again. ``on_open`` is called as soon as the
        board has confirmed the relay is on.
        """
        was_high = self.read_inputs().rotation
        self.set_relay(relay, True)
        if on_open is not None:
            on_open()
        started = time.monotonic()
        relay_on, passed = True, False
        try:
            while time.monotonic() - started < timeout:
                if relay_on and time.monotonic() - started >= pulse:
                    self.set_relay(relay, False)
                    relay_on = False
                high = self.read_inputs().rotation
                passed = passed or (high and not was_high)
                if passed and not relay_on:
                    break
                was_high = high
                time.sleep(0.01)
        finally:
            if relay_on:
                if time.monotonic() - started < pulse:
                    time.sleep(max(0.0, pulse - (time.monotonic() - started)))
                self.set_relay(relay, False)
        return passed

    # -- the technician's check ------------------------------------------------------
    def self_test(self) -> SelfTestResult:
        where = self.transport.description
        try:
            relays = self.read_relays()
            inputs = self.read_inputs()
        except DeviceTimeout:
            reason = (
                f"no reply from Modbus unit {self.unit} on {where}: check the cable (A/B "
                "may be swapped), the board's power, its address and baud rate"
            )
            return SelfTestResult(DEVICE_NAME, self.url, False, reason)
        except DriverError as err:
            return SelfTestResult(DEVICE_NAME, self.url, False, str(err))
        details = {
            "unit": str(self.unit),
            "relays": "".join("1" if r else "0" for r in relays),
            "inputs": "".join("1" if i else "0" for i in inputs.raw),
        }
        if inputs.fire_alarm:
            reason = "the fire-alarm input is active: gates will stay open until it clears"
            return SelfTestResult(DEVICE_NAME, self.url, False, reason, details)
        return SelfTestResult(DEVICE_NAME, self.url, True, "", details)


def self_test(url: str, *, trace: TraceHook | None = None) -> SelfTestResult:
    try:
        board = RelayBoard.open(url, trace=trace)
    except DriverError as err:
        return SelfTestResult(DEVICE_NAME, url, False, f"cannot open the port: {err}")
    try:
        return board.self_test()
    finally:
        board.close()
