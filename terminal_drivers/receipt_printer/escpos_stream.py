"""Split an ESC/POS byte stream into text and commands (pure; used by the simulator).

Only the lengths of commands matter here: ``scan`` knows how many bytes each
ESC, GS, FS and DLE command takes (fixed arguments, a NUL-terminated string,
or a length prefix as in ``GS ( k pL pH``), so printable text is all that is
left. Unknown commands are taken as two bytes, which keeps the scanner in
step for the commands python-escpos emits.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
_PREFIXES = bytes([ESC, GS, FS, DLE])


class Kind(StrEnum):
    TEXT = "text"
    COMMAND = "command"
    STATUS = "status"  # DLE EOT n: answer at once, even offline
    PAPER_STATUS = "paper_status"  # GS r n: answer in order with the print data
    CUT = "cut"


@dataclass(frozen=True)
class Token:
    kind: Kind
    data: bytes

    @property
    def argument(self) -> int:
        return self.data[-1] if self.data else 0


# Fixed argument counts after the two-byte command.
_ESC_ARGS: dict[int, int] = {
    **dict.fromkeys(b"@2<iLSmFHjP", 0),
    **dict.fromkeys(b"!EM-adJtRGV3{rUe=K M%T", 1),
    ord("p"): 3,
    ord("$"): 2,
    ord("\\"): 2,
    ord("B"): 2,
    ord("c"): 2,
}
_GS_ARGS: dict[int, int] = {
    **dict.fromkeys(b"!BHhwfarIbE/j^", 1),
    **dict.fromkeys(b"PLW$\\", 2),
    ord("r"): 1,
}
_FS_ARGS: dict[int, int] = {**dict.fromkeys(b"&.", 0), ord("C"): 1, ord("p"): 2}


def _needs(buffer: bytes, n: int) -> int | None:
    return n if len(buffer) >= n else None


def _command_length(buffer: bytes) -> int | None:
    """Bytes in the command at the start of ``buffer``; None if more are needed."""
    if len(buffer) < 2:
        return None
    prefix, code = buffer[0], buffer[1]
    if prefix == DLE:
        if code in (0x04, 0x05):  # DLE EOT n, DLE ENQ n
            return _needs(buffer, 3)
        if code == 0x14:  # DLE DC4 fn a b
            return _needs(buffer, 5)
        return 2
    if code == ord("(") and prefix in (ESC, GS, FS):  # X ( fn pL pH data[pL + 256 pH]
        if len(buffer) < 5:
            return None
        return _needs(buffer, 5 + buffer[3] + 256 * buffer[4])
    if prefix == ESC:
        if code == ord("*"):  # ESC * m nL nH d: 8-dot modes take n bytes, 24-dot 3n
            if len(buffer) < 5:
                return None
            n = buffer[3] + 256 * buffer[4]
            return _needs(buffer, 5 + (3 * n if buffer[2] in (32, 33) else n))
        if code == ord("D"):  # tab positions, NUL-terminated
            end = buffer.find(b"\x00", 2)
            return None if end < 0 else end + 1
        return _needs(buffer, 2 + _ESC_ARGS.get(code, 0))
    if prefix == GS:
        if code == ord("V"):  # cut: m, and n for the "feed then cut" forms
            if len(buffer) < 3:
                return None
            return _needs(buffer, 4 if buffer[2] in (65, 66, 97, 98, 103, 104) else 3)
        if code == ord("k"):  # barcode: m 0-6 NUL-terminated, m 65+ length-prefixed
            if len(buffer) < 3:
                return None
            if buffer[2] <= 6:
                end = buffer.find(b"\x00", 3)
                return None if end < 0 else end + 1
            if len(buffer) < 4:
                return None
            return _needs(buffer, 4 + buffer[3])
        if code == ord("v"):  # GS v 0 m xL xH yL yH d[x * y]
            if len(buffer) < 8:
                return None
            x, y = buffer[4] + 256 * buffer[5], buffer[6] + 256 * buffer[7]
            return _needs(buffer, 8 + x * y)
        if code == ord("*"):  # GS * x y d[x * y * 8]
            if len(buffer) < 4:
                return None
            return _needs(buffer, 4 + buffer[2] * buffer[3] * 8)
        return _needs(buffer, 2 + _GS_ARGS.get(code, 0))
    return _needs(buffer, 2 + _FS_ARGS.get(code, 0))


def scan(buffer: bytes) -> tuple[int, Token | None]:
    """``(consumed, token)``; ``(0, None)`` means wait for more bytes."""
    if not buffer:
        return 0, None
    if buffer[0] not in _PREFIXES:
        end = len(buffer)
        for i, byte in enumerate(buffer):
            if byte in _PREFIXES:
                end = i
                break
        return end, Token(Kind.TEXT, bytes(buffer[:end]))
    length = _command_length(buffer)
    if length is None:
        return 0, None
    command = bytes(buffer[:length])
    if command[:2] == b"\x10\x04":
        return length, Token(Kind.STATUS, command)
    if command[:2] == b"\x1dr":
        return length, Token(Kind.PAPER_STATUS, command)
    if command[:2] == b"\x1dV":
        return length, Token(Kind.CUT, command)
    return length, Token(Kind.COMMAND, command)


def printable_text(stream: bytes) -> str:
    """The text a stream prints, every command removed (for tests and the simulator)."""
    out: list[str] = []
    rest = stream
    while rest:
        consumed, token = scan(rest)
        if consumed == 0:
            break
        if token is not None and token.kind == Kind.TEXT:
            out.append(token.data.decode("cp437"))
        rest = rest[consumed:]
    return "".join(out)
