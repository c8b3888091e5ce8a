"""A serial QR scanner: ``SerialQrScanner`` reads its lines from any transport."""

from __future__ import annotations

import logging
import time
from typing import Any

from terminal_drivers.device_log import DeviceLog
from terminal_drivers.errors import DriverError
from terminal_drivers.qr_scanner import Debouncer, QrScan
from terminal_drivers.qr_scanner.lines import LineFramer
from terminal_drivers.self_test import SelfTestResult
from terminal_drivers.transport import LineSettings, TraceHook, Transport, open_transport

log = logging.getLogger(__name__)

LINE = LineSettings(baud=9600, parity="N")  # most scanners ship at 9600 8N1
DEVICE_NAME = "QR scanner (serial)"
# A scanner sends a whole line in one burst; a line silent this long half-way is
# cut off (unplugged, reset) and is dropped, not joined to the next code.
LINE_GAP = 0.1


class SerialQrScanner:
    def __init__(self, transport: Transport, *, repeat_window: float = 2.0) -> None:
        self.transport = transport
        self.log = DeviceLog(log, DEVICE_NAME, transport.url)
        self._framer = LineFramer()
        self._debounce = Debouncer(repeat_window)
        self._queue: list[QrScan] = []
        self._last_byte = 0.0

    @classmethod
    def open(cls, url: str, *, trace: TraceHook | None = None, **options: Any) -> SerialQrScanner:
        return cls(open_transport(url, trace=trace, defaults=LINE), **options)

    def close(self) -> None:
        self.transport.close()

    @property
    def url(self) -> str:
        return self.transport.url

    def read(self, timeout: float) -> QrScan | None:
        """The next new code within ``timeout`` seconds, or None."""
        deadline = time.monotonic() + timeout
        while True:
            if self._queue:
                return self._queue.pop(0)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            waiting = self._framer.pending
            chunk = self.transport.read(512, min(remaining, LINE_GAP) if waiting else remaining)
            now = time.monotonic()
            if not chunk:
                # Only a silence of LINE_GAP cuts a line: the caller's own timeout
                # running out in the middle of one does not.
                if waiting and now - self._last_byte >= LINE_GAP:
                    self._framer.clear()
                    self.log.warning("dropped a line cut off half-way")
                continue
            self._last_byte = now
            skipped = self._framer.skipped
            for text in self._framer.feed(chunk):
                if self._debounce.is_new(text, now):
                    self._queue.append(QrScan(text, "serial", now))
            if self._framer.skipped != skipped:
                self.log.warning("skipped a line that is no QR code (noise or another symbology)")

    def self_test(self, *, listen: float = 0.3) -> SelfTestResult:
        try:
            self.transport.discard_input()
            scan = self.read(listen)
        except DriverError as err:
            return SelfTestResult(DEVICE_NAME, self.url, False, str(err))
        details = {"port": self.transport.description}
        if scan is not None:
            details["code"] = scan.text[:40]
        else:
            details["note"] = "show the scanner a QR code to check a read"
        return SelfTestResult(DEVICE_NAME, self.url, True, "", details)


def self_test(url: str, *, trace: TraceHook | None = None) -> SelfTestResult:
    try:
        scanner = SerialQrScanner.open(url, trace=trace)
    except DriverError as err:
        return SelfTestResult(DEVICE_NAME, url, False, f"cannot open the port: {err}")
    try:
        return scanner.self_test()
    finally:
        scanner.close()
