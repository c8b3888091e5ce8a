"""ccTalk framing: ``DEST LEN SRC HEADER [DATA] CHECK``, bytes in, frames out.

ccTalk generic specification, part 1:
- 8-bit checksum mode: every byte of the message, checksum included, sums to 0
  mod 256. A simple poll (header 254) from the host (1) to a coin acceptor (2)
  is ``02 00 01 FE FF``.
- CRC-16 mode: the source byte carries the CRC's low byte and the last byte its
  high byte; the CRC is CRC-16/CCITT (poly 0x1021, init 0, the XMODEM variant)
  over destination, length, header and data. The source is implied.

ccTalk has no sync byte: after garbage the parser drops one byte at a time
until a length and a checksum agree. On a single-wire bus the host also reads
its own request back (local echo); the driver tells the two apart by address.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

HEADER_REPLY = 0  # the header of every reply ("ACK" when it carries no data)
MAX_DATA = 252


class ChecksumMode(StrEnum):
    SIMPLE = "simple"  # 8-bit additive checksum
    CRC16 = "crc16"


def crc16_xmodem(data: bytes) -> int:
    """CRC-16/XMODEM: poly 0x1021, init 0, not reflected; check("123456789") = 0x31C3."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


@dataclass(frozen=True)
class Frame:
    destination: int
    source: int  # in CRC-16 mode the wire has no source: the parser reports -1
    header: int
    data: bytes = b""

    def __str__(self) -> str:
        return f"{self.source}->{self.destination} h{self.header} [{self.data.hex(' ')}]"


def encode(frame: Frame, mode: ChecksumMode = ChecksumMode.SIMPLE) -> bytes:
    d, h, data = frame.destination, frame.header, frame.data
    if len(data) > MAX_DATA or not all(0 <= v <= 0xFF for v in (d, h)):
        raise ValueError(f"cannot frame {frame}")
    if mode == ChecksumMode.CRC16:
        crc = crc16_xmodem(bytes([d, len(data), h]) + data)
        return bytes([d, len(data), crc & 0xFF, h]) + data + bytes([crc >> 8])
    if not 0 <= frame.source <= 0xFF:
        raise ValueError(f"cannot frame {frame}")
    body = bytes([d, len(data), frame.source, h]) + data
    return body + bytes([(-sum(body)) & 0xFF])


def parse(buffer: bytes, mode: ChecksumMode = ChecksumMode.SIMPLE) -> tuple[int, Frame | None]:
    """``(consumed, frame)``: ``(0, None)`` wants more bytes, ``(n, None)`` is garbage."""
    if len(buffer) < 2:
        return 0, None
    total = buffer[1] + 5
    if len(buffer) < total:
        # Maybe a frame in progress, maybe garbage read as a length: only the
        # line going quiet tells (``Framer.flush``); looking ahead for a valid
        # frame here would cut real frames whose data holds zero runs.
        return 0, None
    frame = _check(buffer, mode)
    return (total, frame) if frame is not None else (1, None)


def _check(buffer: bytes, mode: ChecksumMode) -> Frame | None:
    """The frame at the start of ``buffer`` if it is complete and its check is right."""
    if len(buffer) < 5 or len(buffer) < buffer[1] + 5:
        return None
    message = buffer[: buffer[1] + 5]
    data = bytes(message[4:-1])
    if mode == ChecksumMode.CRC16:
        crc = message[2] | (message[-1] << 8)
        if crc16_xmodem(bytes([message[0], message[1], message[3]]) + data) != crc:
            return None
        return Frame(message[0], -1, message[3], data)
    if sum(message) & 0xFF:
        return None
    return Frame(message[0], message[2], message[3], data)


class Framer:
    """Accumulates line bytes into frames; ``clear()`` on the 50 ms inter-byte gap."""

    def __init__(self, mode: ChecksumMode = ChecksumMode.SIMPLE) -> None:
        self.mode = mode
        self._buffer = bytearray()
        self.discarded = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while self._buffer:
            consumed, frame = parse(bytes(self._buffer), self.mode)
            if consumed == 0:
                break
            if frame is None:
                self.discarded += self._buffer[:consumed]
            else:
                frames.append(frame)
            del self._buffer[:consumed]
        return frames

    @property
    def pending(self) -> bytes:
        return bytes(self._buffer)

    def flush(self) -> list[Frame]:
        """The line went quiet (ccTalk: 50 ms without a byte): nothing more will
        complete what is buffered, so resynchronise inside it byte by byte."""
        frames: list[Frame] = []
        while self._buffer:
            self.discarded += self._buffer[:1]
            del self._buffer[:1]
            frames += self.feed(b"")
        return frames

    def clear(self) -> None:
        # ccTalk: a message not completed within 50 ms of its last byte is discarded.
        self.discarded += self._buffer
        self._buffer.clear()

    def take_discarded(self) -> bytes:
        garbage = bytes(self.discarded)
        self.discarded.clear()
        return garbage
