"""ID-003 framing against the specification's frames, and fuzzed.

The frames below are those of JCM's "ID-003 Communication Specification"
(controller commands and their CRC bytes); the same byte strings appear in
independent open-source ID-003 drivers, which is how they were cross-checked.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal_drivers.bill_acceptor import id003
from terminal_drivers.bill_acceptor.codes import Command, Status
from tests.terminal_drivers.support import h


def test_crc16_kermit_check_value() -> None:
    # The CRC catalogue's check value for CRC-16/KERMIT over the ASCII digits 1..9.
    assert id003.crc16_kermit(b"123456789") == 0x2189


@pytest.mark.parametrize(
    ("command", "data", "frame"),
    [
        (Command.STATUS_REQUEST, b"", "FC 05 11 27 56"),  # status request
        (Command.ACK, b"", "FC 05 50 AA 05"),  # ACK (answers VEND VALID)
        (Command.RESET, b"", "FC 05 40 2B 15"),  # reset
        (Command.STACK_1, b"", "FC 05 41 A2 04"),  # stack-1
        (Command.RETURN, b"", "FC 05 43 B0 27"),  # return
        (Command.SET_INHIBIT, b"\x00", "FC 06 C3 00 04 D6"),  # inhibit off: accept
        (Command.SET_INHIBIT, b"\x01", "FC 06 C3 01 8D C7"),  # inhibit on
        (Command.SET_ENABLE, b"\x00\x00", "FC 07 C0 00 00 2D B5"),  # all denominations on
        (Command.SET_SECURITY, b"\x00\x00", "FC 07 C1 00 00 F1 EF"),  # security: all normal
        (Command.GET_VERSION, b"", "FC 05 88 6F 5F"),  # version request
    ],
)
def test_specification_frames(command: int, data: bytes, frame: str) -> None:
    assert id003.encode(command, data) == h(frame)
    assert id003.parse(h(frame)) == (len(h(frame)), id003.Frame(command, data))


def test_status_frames_from_the_acceptor() -> None:
    # ENABLE (idling) shares its code with the status request: FC 05 11 27 56.
    assert id003.parse(h("FC 05 11 27 56"))[1] == id003.Frame(Status.ENABLE)
    # ESCROW with denomination code 0x63 carries one data byte.
    frame = id003.encode(Status.ESCROW, b"\x63")
    assert frame[:4] == h("FC 06 13 63")
    assert id003.parse(frame)[1] == id003.Frame(Status.ESCROW, b"\x63")


def test_garbage_before_inside_and_after() -> None:
    good = h("FC 05 11 27 56")
    framer = id003.Framer()
    # Noise, a false SYNC with a plausible length, the frame, trailing noise.
    assert framer.feed(h("00 13 FC 07 99") + good + h("FC")) == [id003.Frame(0x11)]
    assert framer.take_discarded() == h("00 13 FC 07 99")
    assert framer.pending == h("FC")  # a SYNC that may start the next frame


def test_a_frame_split_across_reads() -> None:
    framer = id003.Framer()
    assert framer.feed(h("FC 05")) == []
    assert framer.feed(h("11 27")) == []
    assert framer.feed(h("56")) == [id003.Frame(0x11)]


def test_bad_crc_is_never_accepted_and_costs_one_byte() -> None:
    assert id003.parse(h("FC 05 11 27 57")) == (1, None)
    # A good frame hidden right after a damaged one is still found.
    framer = id003.Framer()
    assert framer.feed(h("FC 05 11 27 57 FC 05 50 AA 05")) == [id003.Frame(0x50)]


def test_impossible_lengths_are_resynchronised() -> None:
    assert id003.parse(h("FC 02 11 27 56")) == (1, None)
    assert id003.parse(h("FC FF")) == (1, None)
    assert id003.parse(h("FC 05 11")) == (0, None)  # incomplete: wait


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_fuzz_parse_never_raises_and_never_accepts_a_bad_crc(data: bytes) -> None:
    consumed, frame = id003.parse(data)
    assert 0 <= consumed <= len(data)
    if frame is not None:
        # Whatever was accepted is exactly a well-formed frame with a valid CRC.
        assert id003.encode(frame.command, frame.data) == data[:consumed]


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=20),
    st.integers(0, 255),
    st.binary(max_size=8),
    st.binary(max_size=20),
    st.integers(1, 7),
)
def test_fuzz_a_frame_survives_surrounding_garbage(
    before: bytes, command: int, data: bytes, after: bytes, chunk: int
) -> None:
    frame = id003.encode(command, data)
    stream = before + frame + after
    framer = id003.Framer()
    found: list[id003.Frame] = []
    for i in range(0, len(stream), chunk):
        found += framer.feed(stream[i : i + chunk])
    for got in found:
        # Anything found re-encodes to a valid frame (garbage may hold one by chance).
        assert id003.parse(got.encode())[1] == got
    if id003.SYNC not in before:
        assert id003.Frame(command, data) in found


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 255), st.binary(max_size=8), st.integers(0, 100), st.integers(0, 7))
def test_fuzz_any_single_bit_flip_is_rejected(
    command: int, data: bytes, position: int, bit: int
) -> None:
    frame = bytearray(id003.encode(command, data))
    index = position % len(frame)
    frame[index] ^= 1 << bit
    consumed, parsed = id003.parse(bytes(frame))
    # CRC-16 catches every single-bit error; a damaged SYNC or length resyncs.
    assert parsed is None or (parsed == id003.Frame(command, data) and index >= consumed)
