"""ESC/POS real-time status (Epson ESC/POS reference, DLE EOT n and GS r n), pure.

Each DLE EOT reply is one byte with bits 1 and 4 set and bits 0 and 7 clear
(so it is told apart from other traffic):

- n=1 printer status:  bit 3 offline
- n=2 offline cause:   bit 2 cover open, bit 5 stopped by paper end, bit 6 error
- n=3 error cause:     bit 3 auto-cutter error, bit 5 unrecoverable, bit 6 auto-recoverable
- n=4 paper sensor:    bits 2-3 roll near its end, bits 5-6 roll out

GS r 1 (paper sensor, processed in order with the print data) answers with
bit 4 clear: bits 0-1 near end, bits 2-3 paper out.
"""

from __future__ import annotations

from dataclasses import dataclass

DLE_EOT = b"\x10\x04"
GS_R_PAPER = b"\x1dr\x01"
FIXED_MASK, FIXED_BITS = 0x93, 0x12  # bits 0,1,4,7 of every DLE EOT reply


def is_status_byte(value: int) -> bool:
    return value & FIXED_MASK == FIXED_BITS


def is_gs_r_byte(value: int) -> bool:
    return value & 0x90 == 0


@dataclass(frozen=True)
class PrinterStatus:
    offline: bool = False
    cover_open: bool = False
    paper_near_end: bool = False
    paper_out: bool = False
    error: bool = False
    cutter_error: bool = False
    unrecoverable: bool = False

    @classmethod
    def from_bytes(cls, printer: int, offline: int, error: int, paper: int) -> PrinterStatus:
        return cls(
            offline=bool(printer & 0x08),
            cover_open=bool(offline & 0x04),
            paper_out=bool(offline & 0x20) or paper & 0x60 == 0x60,
            paper_near_end=paper & 0x0C == 0x0C,
            error=bool(offline & 0x40),
            cutter_error=bool(error & 0x08),
            unrecoverable=bool(error & 0x20),
        )

    def to_bytes(self) -> bytes:
        """The four replies (n = 1, 2, 3, 4) a printer in this state sends."""
        printer = FIXED_BITS | (0x08 if self.offline else 0)
        offline = FIXED_BITS | (0x04 if self.cover_open else 0)
        offline |= (0x20 if self.paper_out else 0) | (0x40 if self.error else 0)
        error = FIXED_BITS | (0x08 if self.cutter_error else 0)
        error |= 0x20 if self.unrecoverable else 0
        paper = FIXED_BITS | (0x0C if self.paper_near_end else 0) | (0x60 if self.paper_out else 0)
        return bytes([printer, offline, error, paper])

    @property
    def problem(self) -> str:
        """The fault that stops printing, as a stable code; "" when the printer can print."""
        if self.cover_open:
            return "cover_open"
        if self.paper_out:
            return "paper_out"
        if self.cutter_error:
            return "cutter_error"
        if self.unrecoverable:
            return "printer_error"
        if self.offline or self.error:
            return "offline"
        return ""


PROBLEM_MESSAGES: dict[str, str] = {
    "cover_open": "the printer cover is open: close it",
    "paper_out": "the printer is out of paper: load a new roll",
    "cutter_error": "the auto-cutter is jammed: open the cover and clear it",
    "printer_error": "the printer reports an unrecoverable error: power-cycle it",
    "offline": "the printer is offline",
    "no_reply": "the printer does not answer",
    "incomplete": "the printer stopped before the end of the receipt",
}
