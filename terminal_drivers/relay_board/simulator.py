"""A Modbus RTU relay board on a pty: coils for relays, discrete inputs for sensors.

It answers functions 01, 02, 05 and 15 for its own unit address and stays
silent for others, as a board on a shared RS-485 bus does. Requests are
decoded by pymodbus's server-side PDU decoder and answered with its response
classes, framed by ``rtu.py``; a silence longer than t3.5 ends a frame, so a
garbled request is dropped, never joined to the next one.

Control commands: ``input`` (set one input), ``rotate`` (a passage: the
rotation input high for ``ms``), ``vehicle``, ``fire_alarm``, ``arm_up``,
``walk`` (people waiting: each passes when a relay opens),
``fail`` (answer exception 04 to the next requests), ``busy`` (exception 06),
``stuck`` (a relay welded on), ``power_cycle`` (every relay off).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from pymodbus.exceptions import ModbusException
from pymodbus.pdu import DecodePDU, ExceptionResponse, ModbusPDU
from pymodbus.pdu.bit_message import (
    ReadCoilsRequest,
    ReadCoilsResponse,
    ReadDiscreteInputsRequest,
    ReadDiscreteInputsResponse,
    WriteMultipleCoilsRequest,
    WriteMultipleCoilsResponse,
    WriteSingleCoilRequest,
    WriteSingleCoilResponse,
)

from terminal_drivers.relay_board import rtu
from terminal_drivers.relay_board.device import InputMap
from terminal_drivers.simulation.serial_device import Command as ControlCommand
from terminal_drivers.simulation.serial_device import SerialSimulator, SimulatorCommandError

log = logging.getLogger(__name__)

ILLEGAL_FUNCTION, ILLEGAL_ADDRESS, ILLEGAL_VALUE, DEVICE_FAILURE, BUSY = 1, 2, 3, 4, 6


class RelayBoardSimulator(SerialSimulator):
    name = "relay-board"

    def __init__(
        self,
        *,
        baud: int = 9600,
        pace: bool = False,
        unit: int = 1,
        relays: int = 8,
        inputs: int = 8,
        input_map: InputMap | None = None,
    ) -> None:
        super().__init__(baud=baud, pace=pace, bits_per_byte=10)
        self.unit = unit
        self.coils = [False] * relays
        self.inputs = [False] * inputs
        self.input_map = input_map or InputMap()
        self._framer = rtu.Framer(replies=False)
        self._decoder = DecodePDU(is_server=True)
        self._last_byte = 0.0
        self.gap = rtu.silent_interval(baud)
        self._fail_next = 0
        self._busy_next = 0
        self.stuck: set[int] = set()
        # (monotonic time, relay from 1, on) for every coil change, for tests.
        self.relay_log: list[tuple[float, int, bool]] = []
        self.passages = 0
        self._timers: list[threading.Timer] = []
        self._walkers: list[tuple[int, int]] = []  # people waiting: (after_ms, ms)

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        for timer in self._timers:
            timer.join(timeout=1)
        self._timers.clear()
        super().stop()

    # -- the wire --------------------------------------------------------------------
    def on_bytes(self, data: bytes) -> bytes:
        now = time.monotonic()
        if self._framer.pending and now - self._last_byte > max(self.gap, 0.05):
            # A pause inside a frame ends it: what came before is a broken frame.
            self._framer.clear()
        self._last_byte = now
        out = b""
        for adu in self._framer.feed(data):
            if adu.unit != self.unit:
                continue  # another board's request (or 0, broadcast: never answered)
            reply = self._answer(adu.pdu)
            out += rtu.encode(rtu.Adu(self.unit, bytes([reply.function_code]) + reply.encode()))
        self._framer.take_discarded()
        return out

    def _answer(self, pdu: bytes) -> ModbusPDU:
        function = pdu[0]
        if self._busy_next:
            self._busy_next -= 1
            return ExceptionResponse(function, BUSY)
        if self._fail_next:
            self._fail_next -= 1
            return ExceptionResponse(function, DEVICE_FAILURE)
        try:
            request = self._decoder.decode(pdu)
        except (ModbusException, ValueError, IndexError):
            request = None
        if request is None:
            return ExceptionResponse(function, ILLEGAL_FUNCTION)
        # pymodbus's discrete-input request subclasses the coil request: test it first.
        if isinstance(request, ReadDiscreteInputsRequest):
            bits = self._range(self.inputs, request.address, request.count)
            if isinstance(bits, ExceptionResponse):
                return bits
            return ReadDiscreteInputsResponse(bits=bits)
        if isinstance(request, ReadCoilsRequest):
            bits = self._range(self.coils, request.address, request.count)
            return bits if isinstance(bits, ExceptionResponse) else ReadCoilsResponse(bits=bits)
        if isinstance(request, WriteSingleCoilRequest):
            if not 0 <= request.address < len(self.coils):
                return ExceptionResponse(function, ILLEGAL_ADDRESS)
            on = bool(request.bits[0])
            self._set_coil(request.address, on)
            return WriteSingleCoilResponse(address=request.address, bits=[on])
        if isinstance(request, WriteMultipleCoilsRequest):
            end = request.address + request.count
            if request.count < 1 or end > len(self.coils):
                return ExceptionResponse(function, ILLEGAL_ADDRESS)
            for offset, on in enumerate(request.bits[: request.count]):
                self._set_coil(request.address + offset, bool(on))
            return WriteMultipleCoilsResponse(address=request.address, count=request.count)
        return ExceptionResponse(function, ILLEGAL_FUNCTION)

    def _range(self, bits: list[bool], address: int, count: int) -> list[bool] | ExceptionResponse:
        if not 1 <= count <= 2000:
            return ExceptionResponse(0x01 if bits is self.coils else 0x02, ILLEGAL_VALUE)
        if address + count > len(bits):
            return ExceptionResponse(0x01 if bits is self.coils else 0x02, ILLEGAL_ADDRESS)
        return list(bits[address : address + count])

    def _set_coil(self, address: int, on: bool) -> None:
        relay = address + 1
        if relay in self.stuck:
            on = True
        if self.coils[address] != on:
            self.relay_log.append((time.monotonic(), relay, on))
            if on and self._walkers:
                # Someone was waiting at the arm: they push through once it is released.
                after_ms, ms = self._walkers.pop(0)
                self.rotate(ms=ms, after_ms=after_ms)
        self.coils[address] = on

    # -- control commands -------------------------------------------------------------
    def commands(self) -> dict[str, ControlCommand]:
        return {
            "input": self.set_input,
            "rotate": self.rotate,
            "vehicle": self.vehicle,
            "arm_up": self.arm_up,
            "fire_alarm": self.fire_alarm,
            "fail": self.fail,
            "busy": self.busy,
            "stuck": self.stick,
            "walk": self.walk,
            "power_cycle": self.power_cycle,
        }

    def set_input(self, terminal: int, on: bool = True) -> dict[str, Any]:
        if not 1 <= terminal <= len(self.inputs):
            raise SimulatorCommandError(f"no input {terminal} (1..{len(self.inputs)})")
        self.inputs[terminal - 1] = bool(on)
        return {"inputs": self._bits(self.inputs)}

    def _named(self, name: str, on: bool) -> dict[str, Any]:
        terminal = int(getattr(self.input_map, name))
        if terminal == 0:
            raise SimulatorCommandError(f"{name} is not wired on this board")
        return self.set_input(terminal, on)

    def vehicle(self, on: bool = True) -> dict[str, Any]:
        return self._named("loop_detector", on)

    def arm_up(self, on: bool = True) -> dict[str, Any]:
        return self._named("arm_up", on)

    def fire_alarm(self, on: bool = True) -> dict[str, Any]:
        return self._named("fire_alarm", on)

    def rotate(self, ms: int = 200, after_ms: int = 0) -> dict[str, Any]:
        """A person turns the arm: the rotation input goes high for ``ms``,
        starting ``after_ms`` from now."""

        def high() -> None:
            with self.lock:
                self._named("rotation", True)
                self.passages += 1

        def low() -> None:
            with self.lock:
                self._named("rotation", False)

        if after_ms <= 0:
            high()
        else:
            self._later(after_ms / 1000, high)
        self._later((after_ms + ms) / 1000, low)
        return {"passages": self.passages}

    def walk(self, people: int = 1, after_ms: int = 100, ms: int = 200) -> dict[str, Any]:
        """``people`` wait at the turnstile: each pushes through ``after_ms`` after a
        relay is switched on (the rotation input high for ``ms``)."""
        self._walkers += [(after_ms, ms)] * people
        return {"waiting": len(self._walkers)}

    def _later(self, delay: float, action: Any) -> None:
        timer = threading.Timer(delay, action)
        timer.daemon = True
        timer.name = f"sim-{self.name}-timer"
        self._timers = [t for t in self._timers if t.is_alive()]
        self._timers.append(timer)
        timer.start()

    def fail(self, count: int = 1) -> dict[str, Any]:
        """Answer the next ``count`` requests with exception 04, server device failure."""
        self._fail_next += count
        return {"fail_next": self._fail_next}

    def busy(self, count: int = 1) -> dict[str, Any]:
        """Answer the next ``count`` requests with exception 06, server device busy."""
        self._busy_next += count
        return {"busy_next": self._busy_next}

    def stick(self, relay: int, on: bool = True) -> dict[str, Any]:
        """A welded contact: the relay stays on whatever it is told."""
        if on:
            self.stuck.add(relay)
            self.coils[relay - 1] = True
        else:
            self.stuck.discard(relay)
        return {"stuck": sorted(self.stuck)}

    def power_cycle(self) -> dict[str, Any]:
        self.coils = [relay in self.stuck for relay in range(1, len(self.coils) + 1)]
        return {"relays": self._bits(self.coils)}

    @staticmethod
    def _bits(bits: list[bool]) -> str:
        return "".join("1" if b else "0" for b in bits)

    def state(self) -> dict[str, Any]:
        return {
            **super().state(),
            "unit": self.unit,
            "relays": self._bits(self.coils),
            "inputs": self._bits(self.inputs),
            "passages": self.passages,
        }


def create(*, baud: int = 9600, pace: bool = False, **options: Any) -> RelayBoardSimulator:
    return RelayBoardSimulator(baud=baud, pace=pace, **options)
