"""Serial QR scanners: one code per line, CR, LF or CR LF after it. Pure.

Scanners in "serial/COM emulation" mode send the decoded text and a suffix
(CR by default on most, configurable). With the AIM symbology identifier
turned on, a QR code's text starts with ``]Q1`` (ISO/IEC 15424: ``]`` then
``Q`` for QR Code and a modifier digit); the identifier is stripped and a
code of another symbology (``]C0`` a Code 128, ``]E0`` an EAN-13) is refused.
A line that is not UTF-8, holds control characters or runs past ``MAX_LINE``
bytes is noise and skipped.
"""

from __future__ import annotations

MAX_LINE = 4096
_TERMINATORS = b"\r\n"


def parse(buffer: bytes) -> tuple[int, str | None]:
    """``(consumed, text)``: ``(0, None)`` wants more, ``(n, None)`` skips ``n`` bytes."""
    end = next((i for i, b in enumerate(buffer) if b in _TERMINATORS), -1)
    if end < 0:
        return (len(buffer), None) if len(buffer) > MAX_LINE else (0, None)
    line, consumed = buffer[:end], end + 1
    if len(line) > MAX_LINE:
        return consumed, None
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return consumed, None
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return consumed, None
    if text.startswith("]") and len(text) >= 3:
        if text[1] != "Q":
            return consumed, None  # a barcode of another symbology
        text = text[3:]
    text = text.strip()
    return consumed, (text or None)


class LineFramer:
    def __init__(self) -> None:
        self._buffer = bytearray()
        self.skipped = 0  # lines of noise, for the log

    @property
    def pending(self) -> bool:
        return bool(self._buffer)

    def clear(self) -> None:
        """A line that stopped half-way (the scanner unplugged): never completed later."""
        if self._buffer:
            self.skipped += 1
        self._buffer.clear()

    def feed(self, data: bytes) -> list[str]:
        self._buffer += data
        codes: list[str] = []
        while self._buffer:
            consumed, text = parse(bytes(self._buffer))
            if consumed == 0:
                break
            if text is not None:
                codes.append(text)
            elif self._buffer[:consumed].strip(_TERMINATORS):
                self.skipped += 1
            del self._buffer[:consumed]
        return codes
