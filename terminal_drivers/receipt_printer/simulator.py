"""An ESC/POS printer on a pty: prints text, answers status, runs out of paper.

Real-time commands (DLE EOT n) are answered the moment they arrive, even while
the printer is stopped, as the ESC/POS reference requires. Everything else is
processed in order, and only while the printer can print: with the cover open
or the paper out, data waits in the buffer and prints when the fault is
cleared, as on a real printer. ``receipts`` holds the text of each receipt cut
so far and ``text`` the one being printed.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import replace
from typing import Any

from terminal_drivers.receipt_printer import escpos_stream
from terminal_drivers.receipt_printer.escpos_stream import Kind, Token
from terminal_drivers.receipt_printer.status import PrinterStatus
from terminal_drivers.simulation.serial_device import Command as ControlCommand
from terminal_drivers.simulation.serial_device import SerialSimulator

log = logging.getLogger(__name__)

QR_STORE = b"\x1d(k1P0"  # GS ( k pL pH cn=49 fn=80 m=48: store the QR data


class PrinterSimulator(SerialSimulator):
    name = "printer"

    def __init__(self, *, baud: int = 9600, pace: bool = False, encoding: str = "cp437") -> None:
        super().__init__(baud=baud, pace=pace, bits_per_byte=10)
        self.encoding = encoding
        self.condition = PrinterStatus()
        self.receipts: list[str] = []
        self.text = ""  # the receipt being printed (not yet cut)
        self.lines_printed = 0
        self.qr_codes: list[str] = []  # payloads of native QR codes (GS ( k fn 80 "store")
        self._paper_left: int | None = None  # lines until the roll ends, when injected
        self._stream = bytearray()
        self._held: deque[Token] = deque()

    @property
    def status(self) -> PrinterStatus:
        c = self.condition
        return replace(c, offline=c.offline or c.cover_open or c.paper_out or c.unrecoverable)

    @property
    def can_print(self) -> bool:
        return not self.status.offline

    def on_bytes(self, data: bytes) -> bytes:
        self._stream += data
        out = b""
        while self._stream:
            consumed, token = escpos_stream.scan(bytes(self._stream))
            if consumed == 0:
                break
            del self._stream[:consumed]
            if token is None:
                continue
            if token.kind == Kind.STATUS:
                out += self._realtime_status(token.argument)
            else:
                self._held.append(token)
        return out + self._process()

    def _realtime_status(self, n: int) -> bytes:
        if not 1 <= n <= 4:
            return b""
        return self.status.to_bytes()[n - 1 : n]

    def _process(self) -> bytes:
        out = b""
        while self._held and self.can_print:
            token = self._held.popleft()
            if token.kind == Kind.TEXT:
                self._print_text(token)
            elif token.kind == Kind.CUT:
                self.receipts.append(self.text)
                self.text = ""
            elif (
                token.kind == Kind.COMMAND
                and token.data[:3] == b"\x1d(k"
                and token.data[5:8] == b"1P0"
            ):
                self.qr_codes.append(token.data[8:].decode(self.encoding, "replace"))
            elif token.kind == Kind.PAPER_STATUS:
                # GS r 1: bits 0-1 near end, bits 2-3 paper out, bit 4 always clear.
                c = self.condition
                out += bytes([(0x03 if c.paper_near_end else 0) | (0x0C if c.paper_out else 0)])
        return out

    def _print_text(self, token: Token) -> None:
        text = token.data.decode(self.encoding, "replace")
        for i, char in enumerate(text):
            if self._paper_left is not None and self._paper_left <= 0:
                # The roll ends here: the rest of this text waits for new paper.
                self.condition = replace(self.condition, paper_out=True)
                rest = text[i:].encode(self.encoding, "replace")
                self._held.appendleft(Token(Kind.TEXT, rest))
                return
            self.text += char
            if char == "\n":
                self.lines_printed += 1
                if self._paper_left is not None:
                    self._paper_left -= 1

    # -- control commands -------------------------------------------------------------
    def commands(self) -> dict[str, ControlCommand]:
        return {
            "paper_out": self.paper_out,
            "paper_out_after": self.paper_out_after,
            "paper_near_end": self.paper_near_end,
            "load_paper": self.load_paper,
            "open_cover": self.open_cover,
            "close_cover": self.close_cover,
            "cutter_error": self.cutter_error,
            "clear_error": self.clear_error,
            "receipts": self.printed,
        }

    def _set(self, **changes: bool) -> dict[str, Any]:
        self.condition = replace(self.condition, **changes)
        reply = self._process()  # data held while stopped prints once it can
        if reply:
            self._write(reply)
        return self.state()

    def paper_out(self) -> dict[str, Any]:
        return self._set(paper_out=True, paper_near_end=True)

    def paper_out_after(self, lines: int) -> dict[str, Any]:
        """The roll ends after ``lines`` more printed lines (mid-receipt, if you like)."""
        self._paper_left = lines
        return {"paper_left": lines}

    def paper_near_end(self) -> dict[str, Any]:
        return self._set(paper_near_end=True)

    def load_paper(self) -> dict[str, Any]:
        self._paper_left = None
        return self._set(paper_out=False, paper_near_end=False)

    def open_cover(self) -> dict[str, Any]:
        return self._set(cover_open=True)

    def close_cover(self) -> dict[str, Any]:
        return self._set(cover_open=False)

    def cutter_error(self) -> dict[str, Any]:
        return self._set(cutter_error=True, error=True, offline=True)

    def clear_error(self) -> dict[str, Any]:
        return self._set(cutter_error=False, error=False, offline=False, unrecoverable=False)

    def printed(self) -> dict[str, Any]:
        return {"receipts": list(self.receipts), "text": self.text, "qr_codes": self.qr_codes}

    def state(self) -> dict[str, Any]:
        s = self.status
        return {
            **super().state(),
            "offline": s.offline,
            "cover_open": s.cover_open,
            "paper_out": s.paper_out,
            "paper_near_end": s.paper_near_end,
            "held_commands": len(self._held),
            "receipts": len(self.receipts),
        }


def create(*, baud: int = 9600, pace: bool = False, **options: Any) -> PrinterSimulator:
    return PrinterSimulator(baud=baud, pace=pace, **options)
