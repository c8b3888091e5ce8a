"""Command APDUs byte for byte, and parsing of commands and responses."""

from __future__ import annotations

import pytest

from terminal_drivers.card_reader import apdu
from terminal_drivers.card_reader.errors import CardNotGenuine, CardProtocolError, CardRemoved
from terminal_drivers.card_reader.status_words import STATUS_WORDS, error_for
from terminal_drivers.errors import DeviceRefused


@pytest.mark.parametrize(
    ("command", "wire"),
    [
        # PC/SC part 3 section 3.2.2.1.3: GET DATA, P1 00 = UID, Le 00 = all of it.
        (apdu.get_uid(), "FF CA 00 00 00"),
        # ISO 7816-4 SELECT by DF name: CLA 00 INS A4 P1 04 P2 00, Lc 08, AID, Le 00.
        (apdu.select_application(), "00 A4 04 00 08 F0 50 52 45 50 41 49 44 00"),
        # DESFire AuthenticateAES (native AA), ISO wrapped: key number 00.
        (apdu.authenticate_aes(), "90 AA 00 00 01 00 00"),
        # DESFire ReadData (native BD): file 01, offset 000000, length 16 (LSB first).
        (apdu.read_data(1, 0, 16), "90 BD 00 00 07 01 00 00 00 10 00 00 00"),
    ],
)
def test_command_encoding(command: apdu.Command, wire: str) -> None:
    assert command.encode() == bytes.fromhex(wire)
    assert apdu.parse_command(command.encode()) == command


def test_additional_frame_carries_32_bytes() -> None:
    # DESFire additional frame (native AF) with E(RndA || RndB'): Lc 20.
    raw = apdu.additional_frame(bytes(32)).encode()
    assert raw[:5] == bytes.fromhex("90 AF 00 00 20")
    assert raw[-1] == 0
    assert len(raw) == 38


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("00 A4 04 00", apdu.Command(0x00, 0xA4, 0x04, 0x00)),  # case 1
        ("FF CA 00 00 00", apdu.Command(0xFF, 0xCA, 0, 0, le=0)),  # case 2
        ("90 AF 00 00 01 07", apdu.Command(0x90, 0xAF, 0, 0, data=b"\x07")),  # case 3
    ],
)
def test_parse_command_cases(raw: str, expected: apdu.Command) -> None:
    assert apdu.parse_command(bytes.fromhex(raw)) == expected


@pytest.mark.parametrize("raw", ["", "00 A4 04", "00 A4 04 00 05 01 02", "00 A4 04 00 00 01 02"])
def test_parse_command_rejects_bad_lengths(raw: str) -> None:
    with pytest.raises(CardProtocolError):
        apdu.parse_command(bytes.fromhex(raw))


def test_parse_response() -> None:
    assert apdu.parse_response(bytes.fromhex("01 02 03 04 90 00")) == apdu.Response(
        bytes.fromhex("01020304"), 0x9000
    )
    assert apdu.parse_response(bytes.fromhex("6A 82")) == apdu.Response(b"", 0x6A82)
    for short in (b"", b"\x90"):
        with pytest.raises(CardProtocolError):
            apdu.parse_response(short)


def test_card_number_round_trip() -> None:
    raw = apdu.encode_card_number("1001")
    assert raw == b"1001" + bytes(12)
    assert apdu.decode_card_number(raw) == "1001"


@pytest.mark.parametrize("raw", [bytes(16), b"10\x0101" + bytes(11), b"1001", b" " * 16])
def test_card_number_rejects_garbage(raw: bytes) -> None:
    with pytest.raises(CardProtocolError):
        apdu.decode_card_number(raw)


@pytest.mark.parametrize(
    ("sw", "cls"),
    [
        (0x91AE, CardNotGenuine),  # DESFire AUTHENTICATION_ERROR
        (0x6982, CardNotGenuine),  # ISO: security status not satisfied
        (0x91CA, CardRemoved),  # DESFire COMMAND_ABORTED: left the field between frames
        (0x6700, CardProtocolError),  # ISO: wrong length
        (0x1234, CardProtocolError),  # not in the table
    ],
)
def test_status_words_map_to_typed_errors(sw: int, cls: type[Exception]) -> None:
    error = error_for(sw, "testing")
    assert isinstance(error, cls)
    assert f"{sw:04X}" in str(error)


def test_refusals_are_device_refused() -> None:
    # A refused card is an ordinary outcome for the caller, not a fault.
    refused = [sw for sw, (cls, _) in STATUS_WORDS.items() if issubclass(cls, CardNotGenuine)]
    assert refused
    assert all(isinstance(error_for(sw, "x"), DeviceRefused) for sw in refused)
