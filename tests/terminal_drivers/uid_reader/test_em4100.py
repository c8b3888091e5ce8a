"""EM4100 reader output: the formats readers send, garbage, and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal_drivers.uid_reader import em4100
from terminal_drivers.uid_reader.em4100 import Tag
from tests.terminal_drivers.support import h

TAG = Tag(0x00070C7F, 0x01)


def test_rdm6300_frame() -> None:
    # STX, "0100070C7F", checksum 01^00^07^0C^7F = 75, ETX.
    wire = h("02") + b"0100070C7F75" + h("03")
    assert em4100.encode_rdm6300(TAG) == wire
    assert em4100.parse(wire) == (14, TAG)


def test_hex_and_decimal_lines() -> None:
    assert em4100.parse(b"0100070C7F\r\n") == (11, TAG)
    # The decimal form printed on fobs is the 32-bit number only: 0x00070C7F = 461951.
    assert em4100.parse(b"0000461951\r\n") == (11, Tag(461951))
    assert Tag(461951).uid == "00070C7F"
    assert TAG.uid == "0100070C7F"


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (h("02") + b"0100070C7F74" + h("03"), (1, None)),  # bad checksum: skip STX, resync
        (h("02") + b"0100070C", (0, None)),  # incomplete
        (h("02") + b"0100070C7F75" + h("04"), (1, None)),  # no ETX
        (b"01000", (0, None)),  # a line in progress
        (b"XYZ", (1, None)),  # noise
        (b"12345\r\n", (6, None)),  # a line that is no tag
    ],
)
def test_bad_frames(stream: bytes, expected: tuple[int, Tag | None]) -> None:
    assert em4100.parse(stream) == expected


def test_ten_digits_beyond_32_bits_read_as_hex() -> None:
    assert em4100.parse(b"9999999999\r\n") == (11, Tag(0x99999999, 0x99))


def test_framer_skips_noise_and_partial_frames() -> None:
    framer = em4100.Framer()
    stream = b"\xff\x00" + h("02") + b"010007" + em4100.encode_rdm6300(TAG) + b"\r\n"
    assert framer.feed(stream) == [TAG]
    assert framer.discarded


@given(st.binary(max_size=60))
def test_fuzz_parse_never_raises_nor_accepts_a_bad_checksum(data: bytes) -> None:
    consumed, tag = em4100.parse(data)
    assert 0 <= consumed <= len(data)
    if tag is not None and data[0] == em4100.STX:
        assert em4100.encode_rdm6300(tag) == data[:consumed]


@given(st.binary(max_size=6), st.integers(0, 0xFFFFFFFF), st.integers(0, 255), st.integers(1, 5))
def test_fuzz_framer_finds_the_tag_after_noise(
    noise: bytes, number: int, version: int, chunk: int
) -> None:
    tag = Tag(number, version)
    stream = noise.replace(b"\x02", b"") + b"\r\n" + em4100.encode_rdm6300(tag)
    framer = em4100.Framer()
    found: list[Tag] = []
    for i in range(0, len(stream), chunk):
        found += framer.feed(stream[i : i + chunk])
    assert found[-1:] == [tag]
