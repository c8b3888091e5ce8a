"""The receipt printer driver: status before, the receipt, proof of printing, status after.

Real-time status (DLE EOT) is answered at once, even when the printer is
stopped, so it tells whether printing can start. It cannot tell whether the
receipt came out: the print data queues in the printer's buffer. So the
receipt ends with GS r 1, which the printer answers only when it reaches it,
after everything before it has printed; no answer in time, or a fault in the
status read afterwards, means the receipt did not (fully) print. Every
outcome is a ``PrintResult``; nothing is dropped silently.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from escpos.printer import Dummy

from terminal_drivers.device_log import DeviceLog
from terminal_drivers.errors import (
    CommunicationError,
    DeviceNeedsTechnician,
    DeviceTimeout,
    DriverError,
)
from terminal_drivers.receipt_printer.connections import EscposTransport, open_printer_line
from terminal_drivers.receipt_printer.status import (
    DLE_EOT,
    GS_R_PAPER,
    PROBLEM_MESSAGES,
    PrinterStatus,
    is_gs_r_byte,
    is_status_byte,
)
from terminal_drivers.self_test import SelfTestResult
from terminal_drivers.transport import TraceHook, Transport

log = logging.getLogger(__name__)

DEVICE_NAME = "receipt printer (ESC/POS)"


@dataclass(frozen=True)
class Receipt:
    reference: str  # the journal's id of the operation, printed and logged
    title: str
    lines: Sequence[str]
    qr: str | None = None  # a verification URL, printed with the printer's own QR command
    footer: str = ""


@dataclass(frozen=True)
class PrintResult:
    reference: str
    printed: bool
    problem: str = ""  # a PROBLEM_MESSAGES key; "" when printed
    reason: str = ""
    confirmed: bool = True  # False when the line cannot report status (a plain file)
    before: PrinterStatus | None = None
    after: PrinterStatus | None = None
    warnings: tuple[str, ...] = field(default=())

    def raise_for_problem(self) -> None:
        """For callers that prefer exceptions: the typed error behind a failed print."""
        if self.printed:
            return
        if self.problem == "no_reply":
            raise CommunicationError(self.reason)
        raise DeviceNeedsTechnician(self.reason, code=self.problem)


def render(receipt: Receipt, *, profile: str | None = None) -> bytes:
    """The ESC/POS bytes of a receipt (python-escpos; no I/O)."""
    printer = Dummy(profile=profile) if profile else Dummy()
    printer.set(align="center", bold=True, double_height=True)
    printer.textln(receipt.title)
    printer.set(normal_textsize=True)
    printer.set(align="left")
    for line in receipt.lines:
        printer.textln(line)
    if receipt.qr:
        printer.set(align="center")
        printer.qr(receipt.qr, native=True, size=4)
    if receipt.footer:
        printer.set(align="center")
        printer.textln(receipt.footer)
    printer.textln(f"#{receipt.reference}")
    printer.cut()
    output: bytes = printer.output
    return output


class ReceiptPrinter:
    def __init__(
        self,
        transport: Transport,
        *,
        status_timeout: float = 0.5,
        print_timeout: float = 10.0,
        profile: str | None = None,
    ) -> None:
        self.transport = transport
        self.log = DeviceLog(log, DEVICE_NAME, transport.url)
        self.status_timeout = status_timeout
        # Long enough for the longest receipt at the printer's speed (about 10 cm/s).
        self.print_timeout = print_timeout
        self.profile = profile

    @classmethod
    def open(cls, url: str, *, trace: TraceHook | None = None, **options: float) -> ReceiptPrinter:
        return cls(open_printer_line(url, trace=trace), **options)  # type: ignore[arg-type]

    def close(self) -> None:
        self.transport.close()

    @property
    def url(self) -> str:
        return self.transport.url

    @property
    def can_read(self) -> bool:
        return not isinstance(self.transport, EscposTransport) or self.transport.can_read

    # -- status -----------------------------------------------------------------------
    def _query(self, n: int) -> int:
        self.transport.discard_input()
        self.transport.write(DLE_EOT + bytes([n]))
        deadline = time.monotonic() + self.status_timeout
        while (remaining := deadline - time.monotonic()) > 0:
            for byte in self.transport.read(16, remaining):
                if is_status_byte(byte):
                    return byte
                self.log.warning("ignored byte %02X waiting for DLE EOT %d", byte, n)
        raise DeviceTimeout(f"no answer to DLE EOT {n} on {self.transport.description}")

    def status(self) -> PrinterStatus:
        """The real-time status (DLE EOT 1, 2, 3, 4). Raises ``DeviceTimeout``."""
        return PrinterStatus.from_bytes(
            self._query(1), self._query(2), self._query(3), self._query(4)
        )

    # -- printing ---------------------------------------------------------------------
    def print_receipt(self, receipt: Receipt) -> PrintResult:
        ref = receipt.reference
        if not self.can_read:
            self.transport.write(render(receipt, profile=self.profile))
            self.log.info("receipt %s sent, unconfirmed (no status on this line)", ref)
            return PrintResult(
                ref, True, confirmed=False, reason="sent; this connection reports no status"
            )
        try:
            before = self.status()
        except DriverError as err:
            return self._failed(ref, "no_reply", f"{PROBLEM_MESSAGES['no_reply']}: {err}")
        if before.problem:
            return self._failed(ref, before.problem, PROBLEM_MESSAGES[before.problem], before)
        try:
            self.transport.write(render(receipt, profile=self.profile) + GS_R_PAPER)
            finished = self._wait_printed()
            after = self.status()
        except DriverError as err:
            reason = f"{PROBLEM_MESSAGES['no_reply']} during the receipt: {err}"
            return self._failed(ref, "no_reply", reason, before)
        if after.problem:
            reason = f"{PROBLEM_MESSAGES['incomplete']}: {PROBLEM_MESSAGES[after.problem]}"
            return self._failed(ref, after.problem, reason, before, after)
        if not finished:
            reason = PROBLEM_MESSAGES["incomplete"] + " (no end-of-receipt answer)"
            return self._failed(ref, "incomplete", reason, before, after)
        warnings = ("paper is near its end: load a new roll soon",) if after.paper_near_end else ()
        self.log.info("receipt %s printed", ref)
        return PrintResult(ref, True, before=before, after=after, warnings=warnings)

    def _wait_printed(self) -> bool:
        deadline = time.monotonic() + self.print_timeout
        while (remaining := deadline - time.monotonic()) > 0:
            for byte in self.transport.read(16, min(remaining, 0.2)):
                if is_gs_r_byte(byte):
                    return True
                self.log.warning("ignored byte %02X waiting for GS r", byte)
        return False

    def _failed(
        self,
        reference: str,
        problem: str,
        reason: str,
        before: PrinterStatus | None = None,
        after: PrinterStatus | None = None,
    ) -> PrintResult:
        self.log.error("receipt %s NOT printed: %s", reference, reason)
        return PrintResult(reference, False, problem, reason, True, before, after)

    # -- the technician's check -------------------------------------------------------
    def self_test(self) -> SelfTestResult:
        if not self.can_read:
            reason = "this connection cannot read the printer's status; print a test page"
            return SelfTestResult(DEVICE_NAME, self.url, True, "", {"status": reason})
        try:
            status = self.status()
        except DeviceTimeout:
            reason = (
                f"no reply on {self.transport.description}: check the cable, the printer's "
                "power and its baud rate"
            )
            return SelfTestResult(DEVICE_NAME, self.url, False, reason)
        except DriverError as err:
            return SelfTestResult(DEVICE_NAME, self.url, False, str(err))
        details = {"paper_near_end": str(status.paper_near_end)}
        if status.problem:
            return SelfTestResult(
                DEVICE_NAME, self.url, False, PROBLEM_MESSAGES[status.problem], details
            )
        return SelfTestResult(DEVICE_NAME, self.url, True, "", details)


def self_test(url: str, *, trace: TraceHook | None = None) -> SelfTestResult:
    try:
        printer = ReceiptPrinter.open(url, trace=trace)
    except DriverError as err:
        return SelfTestResult(DEVICE_NAME, url, False, f"cannot open the printer: {err}")
    try:
        return printer.self_test()
    finally:
        printer.close()
