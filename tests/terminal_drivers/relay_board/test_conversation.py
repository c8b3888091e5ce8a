"""The relay board driver as a wire conversation with unit 1 (every frame RTU, CRC low first)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal_drivers.errors import (
    ConfigurationError,
    DeviceNeedsTechnician,
    DeviceTimeout,
    DriverError,
    ProtocolError,
)
from terminal_drivers.relay_board import rtu
from terminal_drivers.relay_board.device import RelayBoard
from terminal_drivers.transport import Transport
from tests.terminal_drivers.support import Conversation, Step, h


def frame(pdu: str, unit: int = 1) -> bytes:
    return rtu.encode(rtu.Adu(unit, h(pdu)))


RELAY_1_ON = frame("05 00 00 FF 00")  # write single coil 0 (relay 1) ON
RELAY_1_OFF = frame("05 00 00 00 00")  # write single coil 0 OFF
READ_INPUTS = frame("02 00 00 00 08")  # read discrete inputs 0..7


def test_write_single_coil_frames() -> None:
    assert h("01 05 00 00 FF 00 8C 3A") == RELAY_1_ON
    assert h("01 05 00 00 00 00 CD CA") == RELAY_1_OFF


def test_pulse_is_on_then_off() -> None:
    line = Conversation(
        [
            Step(RELAY_1_ON, RELAY_1_ON, "write coil 0 ON -> echo"),
            Step(RELAY_1_OFF, RELAY_1_OFF, "write coil 0 OFF -> echo"),
        ]
    )
    RelayBoard(line, reply_timeout=0.01).pulse(1, 0.01)
    assert line.finished()


def test_read_inputs_maps_the_sensors() -> None:
    line = Conversation(
        [
            # inputs 1..8 = 0000 1001 (LSB first): loop detector (1) and fire alarm (4)
            Step(READ_INPUTS, frame("02 01 09"), "read inputs -> 1 byte 09"),
        ]
    )
    inputs = RelayBoard(line, reply_timeout=0.01).read_inputs()
    assert (inputs.loop_detector, inputs.arm_up, inputs.rotation, inputs.fire_alarm) == (
        True,
        False,
        False,
        True,
    )


def test_read_relays() -> None:
    line = Conversation([Step(frame("01 00 00 00 08"), frame("01 01 05"), "read coils -> 05")])
    assert RelayBoard(line, reply_timeout=0.01).read_relays() == [True, False, True] + [False] * 5


def test_fire_alarm_opens_every_relay() -> None:
    line = Conversation(
        [Step(frame("0F 00 00 00 08 01 FF"), frame("0F 00 00 00 08"), "write coils 0-7 ON")]
    )
    RelayBoard(line, reply_timeout=0.01).set_all(True)
    assert line.finished()


def test_a_reply_from_another_unit_is_ignored_and_retried() -> None:
    line = Conversation(
        [
            Step(RELAY_1_ON, frame("05 00 00 FF 00", unit=2), "unit 2 answers: not ours"),
            Step(RELAY_1_ON, RELAY_1_ON, "retry -> unit 1 echoes"),
        ]
    )
    RelayBoard(line, reply_timeout=0.01).hold_open(1)
    assert line.finished()


def test_busy_is_retried() -> None:
    line = Conversation(
        [
            Step(RELAY_1_ON, frame("85 06"), "exception 06: server device busy"),
            Step(RELAY_1_ON, RELAY_1_ON, "retry -> echo"),
        ]
    )
    RelayBoard(line, reply_timeout=0.01).hold_open(1)
    assert line.finished()


def test_device_failure_needs_a_technician() -> None:
    line = Conversation([Step(RELAY_1_ON, frame("85 04"), "exception 04: device failure")])
    with pytest.raises(DeviceNeedsTechnician) as caught:
        RelayBoard(line, reply_timeout=0.01).hold_open(1)
    assert caught.value.code == "server_device_failure"


def test_illegal_address_is_a_configuration_error() -> None:
    line = Conversation([Step(READ_INPUTS, frame("82 02"), "exception 02: illegal data address")])
    with pytest.raises(ConfigurationError):
        RelayBoard(line, reply_timeout=0.01).read_inputs()


def test_a_wrong_echo_is_a_protocol_error() -> None:
    line = Conversation([Step(RELAY_1_ON, RELAY_1_OFF, "echo says OFF: not our write")])
    with pytest.raises(ProtocolError):
        RelayBoard(line, reply_timeout=0.01).hold_open(1)


def test_silence_is_a_timeout_and_bad_crc_a_protocol_error() -> None:
    silent = Conversation([Step(RELAY_1_ON, b"", f"try {n}") for n in (1, 2, 3)])
    with pytest.raises(DeviceTimeout):
        RelayBoard(silent, reply_timeout=0.01).hold_open(1)
    bad = RELAY_1_ON[:-1] + bytes([RELAY_1_ON[-1] ^ 1])
    garbled = Conversation([Step(RELAY_1_ON, bad, f"bad CRC {n}") for n in (1, 2, 3)])
    with pytest.raises(ProtocolError):
        RelayBoard(garbled, reply_timeout=0.01).hold_open(1)


def test_relay_out_of_range_is_refused_before_the_wire() -> None:
    with pytest.raises(ConfigurationError):
        RelayBoard(Conversation([]), relays=4).hold_open(5)


class Answering(Transport):
    """A line whose device answers every request with the same bytes."""

    def __init__(self, reply: bytes) -> None:
        super().__init__("script://fuzz")
        self.reply = reply
        self._pending = b""

    def _write(self, data: bytes) -> None:
        self._pending += self.reply

    def _read(self, size: int, timeout: float) -> bytes:
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def _discard_input(self) -> None:
        self._pending = b""

    def close(self) -> None:
        pass


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["read_inputs", "read_relays", "hold_open"]),
    st.binary(max_size=12),
    st.booleans(),
    st.booleans(),
)
def test_fuzz_any_reply_gives_a_result_or_a_driver_error(
    command: str, data: bytes, exception: bool, counted: bool
) -> None:
    """Whatever comes back with a valid CRC (a truncated, padded, absurd PDU), the
    driver answers a value or one of its own errors, never a library's exception."""
    function = {"read_inputs": 0x02, "read_relays": 0x01, "hold_open": 0x05}[command]
    if counted and not exception and function in (0x01, 0x02):
        data = bytes([len(data)]) + data  # a well-framed reply with any bits in it
    elif not exception and function == 0x05:
        data = (data + bytes(4))[:4]  # always 8 bytes framed: address and value fuzzed
    reply = rtu.encode(rtu.Adu(1, bytes([function | (0x80 if exception else 0)]) + data))
    board = RelayBoard(Answering(reply), reply_timeout=0.005)
    with contextlib.suppress(DriverError):
        getattr(board, command)(*([1] if command == "hold_open" else []))
