"""Modbus RTU framing: ``UNIT PDU CRC``, bytes in, frames out, no I/O.

Modbus over Serial Line V1.02, section 2.5.1: an RTU frame is the unit
(server) address, the PDU (function code and data) and a CRC-16 sent low byte
first (section 6.2.2: "the low-order byte of the field is appended first").
The CRC is CRC-16/MODBUS: polynomial 0xA001 reflected, initial value 0xFFFF
(Appendix B); its catalogue check value over ``"123456789"`` is 0x4B37.

RTU has no start byte: frames are delimited by silence (3.5 characters). The
length of a frame follows from its function code and, for some, a byte count;
which layout applies depends on the direction (a Read Coils request is 8 bytes,
its reply ``5 + byte count``). After garbage the parser drops one byte at a
time until a length and a CRC agree; a frame whose announced length never
arrives is dropped by ``Framer.flush`` when the line goes quiet.
"""

from __future__ import annotations

from dataclasses import dataclass

# Function codes a relay board uses (Modbus Application Protocol V1.1b3, 6.x).
READ_COILS = 0x01
READ_DISCRETE_INPUTS = 0x02
READ_HOLDING_REGISTERS = 0x03
READ_INPUT_REGISTERS = 0x04
WRITE_SINGLE_COIL = 0x05
WRITE_SINGLE_REGISTER = 0x06
WRITE_MULTIPLE_COILS = 0x0F
WRITE_MULTIPLE_REGISTERS = 0x10
EXCEPTION_BIT = 0x80

_FIXED_REQUEST = {
    READ_COILS,
    READ_DISCRETE_INPUTS,
    READ_HOLDING_REGISTERS,
    READ_INPUT_REGISTERS,
    WRITE_SINGLE_COIL,
    WRITE_SINGLE_REGISTER,
}
_COUNTED_REQUEST = {WRITE_MULTIPLE_COILS, WRITE_MULTIPLE_REGISTERS}  # byte count at offset 6
_COUNTED_REPLY = {READ_COILS, READ_DISCRETE_INPUTS, READ_HOLDING_REGISTERS, READ_INPUT_REGISTERS}
_FIXED_REPLY = {WRITE_SINGLE_COIL, WRITE_SINGLE_REGISTER, WRITE_MULTIPLE_COILS}
_FIXED_REPLY |= {WRITE_MULTIPLE_REGISTERS}
MAX_ADU = 256  # section 2.5.1: an RTU frame is at most 256 bytes


def _table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _table()


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS as an integer; on the wire it goes low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc


@dataclass(frozen=True)
class Adu:
    """One RTU frame: the unit address and the PDU (function code + data)."""

    unit: int
    pdu: bytes

    @property
    def function(self) -> int:
        return self.pdu[0] if self.pdu else -1

    @property
    def is_exception(self) -> bool:
        return self.function >= EXCEPTION_BIT

    def __str__(self) -> str:
        return f"unit {self.unit} [{self.pdu.hex(' ')}]"


def encode(adu: Adu) -> bytes:
    if not 0 <= adu.unit <= 0xFF or not adu.pdu or len(adu.pdu) > MAX_ADU - 3:
        raise ValueError(f"cannot frame {adu}")
    body = bytes([adu.unit]) + adu.pdu
    return body + crc16_modbus(body).to_bytes(2, "little")


def frame_length(buffer: bytes, *, replies: bool) -> int | None:
    """The whole frame's length if ``buffer`` starts one; 0 if more bytes are needed
    to tell; ``None`` if the function code cannot start a frame in this direction."""
    if len(buffer) < 2:
        return 0
    function = buffer[1]
    if replies:
        if function & EXCEPTION_BIT and function & 0x7F:
            return 5
        if function in _FIXED_REPLY:
            return 8
        if function in _COUNTED_REPLY:
            return 5 + buffer[2] if len(buffer) >= 3 else 0
        return None
    if function in _FIXED_REQUEST:
        return 8
    if function in _COUNTED_REQUEST:
        return 9 + buffer[6] if len(buffer) >= 7 else 0
    return None


def parse(buffer: bytes, *, replies: bool) -> tuple[int, Adu | None]:
    """``(consumed, frame)``: ``(0, None)`` wants more bytes, ``(1, None)`` drops a byte."""
    length = frame_length(buffer, replies=replies)
    if length is None:
        return 1, None
    if length == 0 or len(buffer) < length:
        return 0, None
    body = buffer[: length - 2]
    if int.from_bytes(buffer[length - 2 : length], "little") != crc16_modbus(body):
        return 1, None
    return length, Adu(body[0], bytes(body[1:]))


class Framer:
    """Accumulates line bytes into frames of one direction; ``flush`` on silence."""

    def __init__(self, *, replies: bool) -> None:
        self.replies = replies
        self._buffer = bytearray()
        self.discarded = bytearray()

    def feed(self, data: bytes) -> list[Adu]:
        self._buffer += data
        frames: list[Adu] = []
        while self._buffer:
            consumed, frame = parse(bytes(self._buffer), replies=self.replies)
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

    def flush(self) -> list[Adu]:
        """The line went quiet (3.5 characters): what is buffered will not grow,
        so drop its first byte and look for a frame inside the rest."""
        frames: list[Adu] = []
        while self._buffer:
            self.discarded += self._buffer[:1]
            del self._buffer[:1]
            frames += self.feed(b"")
        return frames

    def clear(self) -> None:
        self.discarded += self._buffer
        self._buffer.clear()

    def take_discarded(self) -> bytes:
        garbage = bytes(self.discarded)
        self.discarded.clear()
        return garbage


def silent_interval(baud: int) -> float:
    """t3.5 in seconds: 3.5 characters of 11 bits, fixed at 1.75 ms above 19200
    baud (Modbus over Serial Line V1.02, 2.5.1.1)."""
    return 0.00175 if baud > 19200 else 3.5 * 11 / baud
