"""ccTalk framing against the specification's examples, and fuzzed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal_drivers.coin_acceptor import cctalk
from terminal_drivers.coin_acceptor.cctalk import ChecksumMode, Frame
from tests.terminal_drivers.support import h

CRC = ChecksumMode.CRC16


def test_simple_poll_to_address_2() -> None:
    # ccTalk generic specification part 1: simple poll (254) from host 1 to address 2.
    assert cctalk.encode(Frame(2, 1, 254)) == h("02 00 01 FE FF")


def test_simple_poll_to_a_bill_validator_at_40() -> None:
    # ccTalk part 1's worked example: "40 0 1 254 217", checksum (-40-0-1-254) mod 256.
    assert cctalk.encode(Frame(40, 1, 254)) == bytes([40, 0, 1, 254, 217])


def test_ack_reply_from_the_coin_acceptor() -> None:
    # The reply to a simple poll: header 0 from address 2 to the host.
    assert cctalk.parse(h("01 00 02 00 FD")) == (5, Frame(1, 2, 0))


def test_crc16_is_xmodem() -> None:
    # CRC catalogue check value of CRC-16/XMODEM (ccTalk's "CRC-CCITT, seed 0").
    assert cctalk.crc16_xmodem(b"123456789") == 0x31C3


def test_crc16_mode_frame_layout() -> None:
    # CRC low byte where the source was, high byte last; CRC over 40, 0, 254.
    frame = cctalk.encode(Frame(40, 1, 254), CRC)
    crc = cctalk.crc16_xmodem(bytes([40, 0, 254]))
    assert frame == bytes([40, 0, crc & 0xFF, 254, crc >> 8])
    assert cctalk.parse(frame, CRC) == (5, Frame(40, -1, 254))


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (h("02 00 01 FE FE"), (1, None)),  # bad checksum: drop one byte and resync
        (h("02 00 01"), (0, None)),  # incomplete: wait
        (h("02"), (0, None)),
        (b"", (0, None)),
    ],
)
def test_bad_and_short_frames(stream: bytes, expected: tuple[int, Frame | None]) -> None:
    assert cctalk.parse(stream) == expected


def test_garbage_before_a_frame() -> None:
    framer = cctalk.Framer()
    # 00 13 reads as "19 data bytes follow": the framer waits for them...
    assert framer.feed(h("FF 00 13") + h("01 00 02 00 FD")) == []
    # ...until the line goes quiet, then resynchronises inside what it has.
    assert framer.flush() == [Frame(1, 2, 0)]
    assert framer.take_discarded() == h("FF 00 13")


def test_buffered_credit_reply() -> None:
    # Header 229 answer: counter 3, then five (result A, result B) pairs, newest first.
    data = bytes([3, 5, 1, 0, 1, 4, 1, 0, 0, 0, 0])
    wire = cctalk.encode(Frame(1, 2, 0, data))
    assert wire[:4] == h("01 0B 02 00")
    assert cctalk.parse(wire) == (len(wire), Frame(1, 2, 0, data))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80), st.sampled_from(list(ChecksumMode)))
def test_fuzz_parse_never_raises_nor_accepts_a_bad_check(data: bytes, mode: ChecksumMode) -> None:
    consumed, frame = cctalk.parse(data, mode)
    assert 0 <= consumed <= len(data)
    if frame is not None:
        if mode == CRC:
            frame = Frame(frame.destination, 0, frame.header, frame.data)
        assert cctalk.encode(frame, mode) == data[:consumed]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 255),
    st.integers(0, 255),
    st.binary(max_size=12),
    st.integers(0, 64),
    st.integers(0, 7),
    st.sampled_from(list(ChecksumMode)),
)
def test_fuzz_single_bit_flips_are_rejected(
    dest: int, header: int, data: bytes, position: int, bit: int, mode: ChecksumMode
) -> None:
    wire = bytearray(cctalk.encode(Frame(dest, 1, header, data), mode))
    index = position % len(wire)
    wire[index] ^= 1 << bit
    consumed, frame = cctalk.parse(bytes(wire), mode)
    if index != 1:
        # Both checks catch any single-bit error in a frame of the right length.
        assert frame is None
    elif frame is not None:
        # A damaged length frames different bytes; they pass only if their own
        # check holds (the 8-bit sum can, by chance): never a bad check accepted.
        if mode == CRC:
            frame = Frame(frame.destination, 0, frame.header, frame.data)
        assert cctalk.encode(frame, mode) == bytes(wire[:consumed])


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=3), st.binary(max_size=10), st.integers(1, 6))
def test_fuzz_framer_finds_a_frame_after_short_noise(noise: bytes, data: bytes, chunk: int) -> None:
    frame = Frame(1, 2, 0, data)
    stream = noise + cctalk.encode(frame)
    framer = cctalk.Framer()
    found: list[Frame] = []
    for i in range(0, len(stream), chunk):
        found += framer.feed(stream[i : i + chunk])
    found += framer.flush()  # the line goes quiet
    # Noise may hold a valid frame by chance; every frame found is well formed.
    for got in found:
        assert cctalk.parse(cctalk.encode(got))[1] == got
    if not noise:
        assert found == [frame]
