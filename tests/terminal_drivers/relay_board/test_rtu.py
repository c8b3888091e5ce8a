"""RTU framing against the specifications' examples, cross-checked with pymodbus, and fuzzed.

The PDUs are the worked examples of the Modbus Application Protocol
Specification V1.1b3 (section 6); the RTU frames around them (unit 0x11, the
address the Modicon PI-MBUS-300 guide uses in its examples) carry CRCs that
pymodbus's own RTU framer computes too.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU

from terminal_drivers.relay_board import rtu
from terminal_drivers.relay_board.rtu import Adu
from tests.terminal_drivers.support import h


def test_crc16_modbus_check_value() -> None:
    # CRC catalogue, CRC-16/MODBUS: check("123456789") = 0x4B37.
    assert rtu.crc16_modbus(b"123456789") == 0x4B37


def test_crc_goes_low_byte_first() -> None:
    # Modicon PI-MBUS-300, "Read Holding Registers" example: slave 17 (0x11),
    # registers 40108..40110 -> "11 03 00 6B 00 03" with CRC 0x8776 sent "76 87".
    assert rtu.encode(Adu(0x11, h("03 00 6B 00 03"))) == h("11 03 00 6B 00 03 76 87")


# (function, request PDU, response PDU) from the Modbus Application Protocol V1.1b3.
SPEC_EXAMPLES = [
    # 6.1 Read Coils: coils 20-38 -> 19 bits, 03 bytes CD 6B 05.
    ("read coils", h("01 00 13 00 13"), h("01 03 CD 6B 05")),
    # 6.2 Read Discrete Inputs: inputs 197-218 -> 22 bits, 03 bytes AC DB 35.
    ("read discrete inputs", h("02 00 C4 00 16"), h("02 03 AC DB 35")),
    # 6.5 Write Single Coil: coil 173 ON; the normal response echoes the request.
    ("write single coil", h("05 00 AC FF 00"), h("05 00 AC FF 00")),
    # 6.11 Write Multiple Coils: coils 20-29, 10 bits in 2 bytes CD 01.
    ("write multiple coils", h("0F 00 13 00 0A 02 CD 01"), h("0F 00 13 00 0A")),
    # 7 Exception: read discrete inputs of an address the server does not have.
    ("exception 02", h("02 00 C4 00 16"), h("82 02")),
]


@pytest.mark.parametrize(("name", "request_pdu", "response_pdu"), SPEC_EXAMPLES)
def test_spec_examples_round_trip(name: str, request_pdu: bytes, response_pdu: bytes) -> None:
    pymodbus_rtu = FramerRTU(DecodePDU(is_server=True))
    for pdu, replies in ((request_pdu, False), (response_pdu, True)):
        wire = rtu.encode(Adu(0x11, pdu))
        # pymodbus frames the same PDU to the same bytes (its CRC is ours).
        assert wire == pymodbus_rtu.encode(pdu, 0x11, 0), name
        assert rtu.parse(wire, replies=replies) == (len(wire), Adu(0x11, pdu)), name


def test_spec_pdus_are_what_pymodbus_builds_and_decodes() -> None:
    from pymodbus.pdu.bit_message import (
        ReadCoilsRequest,
        ReadDiscreteInputsRequest,
        WriteSingleCoilRequest,
    )

    # The driver sends pymodbus's message classes: they must give the spec's bytes.
    assert ReadCoilsRequest(address=0x13, count=0x13).encode() == h("00 13 00 13")
    assert ReadDiscreteInputsRequest(address=0xC4, count=0x16).encode() == h("00 C4 00 16")
    assert WriteSingleCoilRequest(address=0xAC, bits=[True]).encode() == h("00 AC FF 00")
    reply = DecodePDU(is_server=False).decode(h("01 03 CD 6B 05"))
    assert reply is not None
    # 6.1: "the status of outputs 27-20 is shown as the byte value CD hex"; LSB = coil 20.
    assert reply.bits[:8] == [True, False, True, True, False, False, True, True]


def test_read_coils_request_with_its_crc() -> None:
    # The frame the driver sends to read relays 1-8 of unit 1: "01 01 00 00 00 08" + CRC 3D CC.
    assert rtu.encode(Adu(1, h("01 00 00 00 08"))) == h("01 01 00 00 00 08 3D CC")


@pytest.mark.parametrize(
    ("stream", "replies", "expected"),
    [
        (h("11 03 00 6B 00 03 76 86"), False, (1, None)),  # bad CRC: drop a byte, resync
        (h("11 03 00 6B 00"), False, (0, None)),  # incomplete: wait
        (h("11"), False, (0, None)),
        (h("11 2B 00"), False, (1, None)),  # 0x2B (encapsulated) is not a relay-board request
        (h("11 01 03 CD"), True, (0, None)),  # a reply whose byte count says 3 more
        (b"", True, (0, None)),
    ],
)
def test_bad_and_short_frames(
    stream: bytes, replies: bool, expected: tuple[int, Adu | None]
) -> None:
    assert rtu.parse(stream, replies=replies) == expected


def test_garbage_before_and_after_a_frame() -> None:
    framer = rtu.Framer(replies=True)
    frame = rtu.encode(Adu(1, h("05 00 00 FF 00")))
    found = framer.feed(h("FF 00") + frame + h("A5"))
    found += framer.flush()
    assert found == [Adu(1, h("05 00 00 FF 00"))]


def test_silent_interval() -> None:
    # Modbus over Serial Line 2.5.1.1: t3.5 = 3.5 characters; fixed 1.75 ms above 19200 baud.
    assert rtu.silent_interval(9600) == pytest.approx(0.00401, abs=1e-5)
    assert rtu.silent_interval(115200) == 0.00175


@given(st.binary(max_size=80), st.booleans())
def test_fuzz_parse_never_raises_nor_accepts_a_bad_crc(data: bytes, replies: bool) -> None:
    consumed, frame = rtu.parse(data, replies=replies)
    assert 0 <= consumed <= len(data)
    if frame is not None:
        assert rtu.encode(frame) == data[:consumed]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 247),
    st.sampled_from([h("01 00 00 00 08"), h("05 00 02 FF 00"), h("0F 00 00 00 08 01 FF")]),
    st.integers(0, 64),
    st.integers(0, 7),
)
def test_fuzz_single_bit_flips_are_rejected(unit: int, pdu: bytes, position: int, bit: int) -> None:
    wire = bytearray(rtu.encode(Adu(unit, pdu)))
    wire[position % len(wire)] ^= 1 << bit
    _consumed, frame = rtu.parse(bytes(wire), replies=False)
    # CRC-16 detects every single-bit error.
    assert frame is None or (frame == Adu(unit, pdu) and bytes(wire) == rtu.encode(frame))
    assert frame is None


@given(st.binary(max_size=4), st.binary(max_size=20), st.integers(1, 6))
def test_fuzz_framer_finds_a_frame_after_noise(noise: bytes, data: bytes, chunk: int) -> None:
    pdu = bytes([0x03, len(data)]) + data
    stream = noise + rtu.encode(Adu(1, pdu))
    framer = rtu.Framer(replies=True)
    found: list[Adu] = []
    for i in range(0, len(stream), chunk):
        found += framer.feed(stream[i : i + chunk])
    found += framer.flush()
    for got in found:
        assert rtu.parse(rtu.encode(got), replies=True)[1] == got
    assert Adu(1, pdu) in found or noise  # without noise the frame is always found
