"""What 125 kHz EM4100 readers send over their serial line, parsed. Pure.

An EM4100 tag carries 40 bits: an 8-bit version (customer) byte and a 32-bit
number. Readers send them in one of these shapes (9600 8N1 is usual):

- RDM6300 style: ``STX`` (0x02), ten ASCII hex digits (the 5 bytes), two ASCII
  hex digits of checksum (the XOR of the 5 bytes), ``ETX`` (0x03): the tag
  01 00 07 0C 7F is sent ``02 "0100070C7F" "75" 03`` (01^00^07^0C^7F = 0x75).
- a line of ten hex digits, ``0100070C7F\\r\\n``;
- a line of ten decimal digits, the 32-bit number only (the "keyboard" format
  printed on many fobs): ``0000461951\\r\\n`` is 0x00070C7F.

The parser takes any of them from one stream, skips garbage, and never
accepts an STX frame whose checksum is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

STX, ETX = 0x02, 0x03
MAX_LINE = 32  # no reader sends more; longer runs are noise
_HEX = set(b"0123456789ABCDEFabcdef")
_DIGITS = set(b"0123456789")


@dataclass(frozen=True)
class Tag:
    """A tag's identity as the reader gave it: 5 bytes, or only the 32-bit number."""

    number: int  # the 32-bit card number
    version: int | None = None  # the version/customer byte, when the format carries it

    @property
    def uid(self) -> str:
        """A stable text form: ``0100070C7F`` when the version is known, else ``00070C7F``."""
        if self.version is None:
            return f"{self.number:08X}"
        return f"{self.version:02X}{self.number:08X}"


def checksum(data: bytes) -> int:
    value = 0
    for byte in data:
        value ^= byte
    return value


def encode_rdm6300(tag: Tag) -> bytes:
    raw = bytes([tag.version or 0]) + tag.number.to_bytes(4, "big")
    return (
        bytes([STX]) + raw.hex().upper().encode() + f"{checksum(raw):02X}".encode() + bytes([ETX])
    )


def encode_line(tag: Tag, *, decimal: bool = False) -> bytes:
    text = f"{tag.number:010d}" if decimal else tag.uid
    return text.encode() + b"\r\n"


def _parse_stx(buffer: bytes) -> tuple[int, Tag | None]:
    if len(buffer) < 14:
        if any(b not in _HEX for b in buffer[1:]):
            return 1, None
        return 0, None
    body = buffer[1:13]
    if buffer[13] != ETX or any(b not in _HEX for b in body):
        return 1, None
    raw = bytes.fromhex(body[:10].decode())
    if int(body[10:].decode(), 16) != checksum(raw):
        return 1, None
    return 14, Tag(int.from_bytes(raw[1:], "big"), raw[0])


def _parse_line(buffer: bytes) -> tuple[int, Tag | None]:
    end = next((i for i, b in enumerate(buffer) if b not in _HEX), -1)
    if end < 0:
        return (1, None) if len(buffer) > MAX_LINE else (0, None)
    if buffer[end] not in (0x0D, 0x0A):
        # Noise (or the STX of a frame) inside the line: skip to it, never past it.
        return max(end, 1), None
    line, consumed = buffer[:end], end + 1
    if len(line) == 10 and all(b in _DIGITS for b in line) and int(line) <= 0xFFFFFFFF:
        return consumed, Tag(int(line))
    if len(line) == 10:
        raw = bytes.fromhex(line.decode())
        return consumed, Tag(int.from_bytes(raw[1:], "big"), raw[0])
    # A blank line (the LF after a CR) or a line that is no tag.
    return consumed, None


def parse(buffer: bytes) -> tuple[int, Tag | None]:
    """``(consumed, tag)``: ``(0, None)`` wants more bytes, ``(n, None)`` skips ``n``.

    A line of ten digits reads as decimal: readers that send hex send letters
    often enough, and the decimal form is what fobs print; configure the reader
    (or use the STX format) where that ambiguity matters.
    """
    if not buffer:
        return 0, None
    if buffer[0] == STX:
        return _parse_stx(buffer)
    if buffer[0] in _HEX or buffer[0] in (0x0D, 0x0A):
        return _parse_line(buffer)
    return 1, None


class Framer:
    def __init__(self) -> None:
        self._buffer = bytearray()
        self.discarded = bytearray()

    def feed(self, data: bytes) -> list[Tag]:
        self._buffer += data
        tags: list[Tag] = []
        while self._buffer:
            consumed, tag = parse(bytes(self._buffer))
            if consumed == 0:
                break
            if tag is None:
                if self._buffer[:consumed].strip(b"\r\n"):
                    self.discarded += self._buffer[:consumed]
            else:
                tags.append(tag)
            del self._buffer[:consumed]
        return tags

    @property
    def pending(self) -> bytes:
        return bytes(self._buffer)

    def clear(self) -> None:
        self.discarded += self._buffer
        self._buffer.clear()
