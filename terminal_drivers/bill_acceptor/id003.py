"""ID-003 framing: ``SYNC LNG CMD [DATA] CRCL CRCH``, bytes in, frames out.

- SYNC is 0xFC; LNG counts the whole frame, SYNC and CRC included (5 with no data).
- The CRC is CRC-16/Kermit (poly 0x1021 reflected, init 0) over SYNC..DATA,
  sent low byte first. ``FC 05 11 27 56`` is the status request.

``parse`` survives garbage before, inside and after a frame: it skips to the
next SYNC, and a frame whose CRC fails costs only its SYNC byte, so a good
frame hiding behind a false SYNC is still found (bad cabling, unstable USB
adapters and line noise all produce exactly that).
"""

from __future__ import annotations

from dataclasses import dataclass

SYNC = 0xFC
MIN_LENGTH = 5  # SYNC LNG CMD CRCL CRCH
MAX_LENGTH = 250  # the longest ID-003 reply (version strings) is well below this


def crc16_kermit(data: bytes) -> int:
    """CRC-16/Kermit: reflected 0x1021 (0x8408), init 0, no final XOR; check 0x2189."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


@dataclass(frozen=True)
class Frame:
    command: int  # a command (host to acceptor) or a status (acceptor to host)
    data: bytes = b""

    def encode(self) -> bytes:
        return encode(self.command, self.data)

    def __str__(self) -> str:
        return f"{self.command:02X}[{self.data.hex(' ')}]"


def encode(command: int, data: bytes = b"") -> bytes:
    length = MIN_LENGTH + len(data)
    if not 0 <= command <= 0xFF or length > MAX_LENGTH:
        raise ValueError(f"cannot frame command {command!r} with {len(data)} data bytes")
    body = bytes([SYNC, length, command]) + data
    crc = crc16_kermit(body)
    return body + bytes([crc & 0xFF, crc >> 8])


def parse(buffer: bytes) -> tuple[int, Frame | None]:
    """Look for one frame at the start of ``buffer``.

    Returns ``(consumed, frame)``: drop ``consumed`` bytes from the buffer, then
    if ``frame`` is None and ``consumed`` is 0 wait for more bytes; if ``frame``
    is None and ``consumed`` > 0 those bytes were garbage (call again).
    """
    start = buffer.find(SYNC)
    if start < 0:
        return len(buffer), None
    if start > 0:
        return start, None  # garbage before the frame
    if len(buffer) < 2:
        return 0, None
    length = buffer[1]
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        return 1, None  # a false SYNC: not a length a frame can have
    if len(buffer) < length:
        return 0, None
    body, crc = buffer[: length - 2], buffer[length - 2 : length]
    if crc16_kermit(body) != crc[0] | (crc[1] << 8):
        return 1, None  # a damaged frame or a false SYNC; resync after it
    return length, Frame(body[2], bytes(body[3:]))


class Framer:
    """Accumulates bytes from the line and yields whole frames (still pure, no I/O)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.discarded = bytearray()  # garbage seen since the last ``take_discarded``

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while self._buffer:
            consumed, frame = parse(bytes(self._buffer))
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

    def clear(self) -> None:
        self.discarded += self._buffer
        self._buffer.clear()

    def take_discarded(self) -> bytes:
        garbage = bytes(self.discarded)
        self.discarded.clear()
        return garbage
