"""Serial scanner lines: suffixes, AIM identifiers, noise, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal_drivers.qr_scanner import lines
from terminal_drivers.qr_scanner.lines import LineFramer


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (b"PP1.abc\r", (8, "PP1.abc")),
        (b"PP1.abc\n", (8, "PP1.abc")),
        (b"]Q1PP1.abc\r", (11, "PP1.abc")),  # ISO/IEC 15424 identifier: ]Q = QR Code
        (b"]C04006381333931\r", (17, None)),  # ]C = Code 128: not a QR code
        (b"PP1.a\x07bc\r", (9, None)),  # a control character: noise
        (b"\xff\xfe\r", (3, None)),  # not UTF-8
        (b"PP1.ab", (0, None)),  # a line in progress
        (b"\r", (1, None)),
        ("住户码\r".encode(), (10, "住户码")),
    ],
)
def test_parse(stream: bytes, expected: tuple[int, str | None]) -> None:
    assert lines.parse(stream) == expected


def test_crlf_and_chunks() -> None:
    framer = LineFramer()
    got = (
        framer.feed(b"\x00\x01junk\r\nPP1.one\r") + framer.feed(b"\nPP1.t") + framer.feed(b"wo\r\n")
    )
    assert got == ["PP1.one", "PP1.two"]
    assert framer.skipped == 1


def test_an_endless_line_is_dropped() -> None:
    framer = LineFramer()
    assert framer.feed(b"A" * (lines.MAX_LINE + 10)) == []
    assert framer.feed(b"\rPP1.ok\r") == ["PP1.ok"]


@given(st.binary(max_size=100))
def test_fuzz_parse_never_raises(data: bytes) -> None:
    consumed, text = lines.parse(data)
    assert 0 <= consumed <= len(data)
    if text is not None:
        assert "\r" not in text
        assert "\n" not in text


@given(st.binary(max_size=20), st.text(alphabet="PP1.abcXYZ019-_~+/=", min_size=1))
def test_fuzz_a_code_after_noise_is_found(noise: bytes, code: str) -> None:
    framer = LineFramer()
    found = framer.feed(noise + b"\r" + code.encode() + b"\r\n")
    assert found[-1:] == [code]
