"""The UID reader driver: ``UidReader`` turns a reader's output into low-assurance reads.

A 125 kHz reader sends the tag again and again (every 100 to 500 ms) while it
stays in the field. The driver reports a tag once, and again only after the
field has been free of it for ``repeat_window`` seconds, so one tap is one
read. The reader has no commands: it speaks only when a tag is present, so the
self-test can check the port and, if a technician holds a tag to it, the read.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from terminal_drivers.device_log import DeviceLog
from terminal_drivers.errors import DriverError
from terminal_drivers.self_test import SelfTestResult
from terminal_drivers.transport import LineSettings, TraceHook, Transport, open_transport
from terminal_drivers.uid_reader import em4100

log = logging.getLogger(__name__)

LINE = LineSettings(baud=9600, parity="N")
DEVICE_NAME = "125 kHz UID reader (EM4100)"
LOW_ASSURANCE = "low"  # DESIGN.md: a UID proves nothing; capped spending only


@dataclass(frozen=True)
class UidRead:
    uid: str  # em4100.Tag.uid: "0100070C7F", or "00070C7F" from a decimal reader
    technology: str  # "em4100"
    assurance: str  # always LOW_ASSURANCE: copyable
    at: float  # time.monotonic() of the read


class UidReader:
    def __init__(self, transport: Transport, *, repeat_window: float = 1.0) -> None:
        self.transport = transport
        self.log = DeviceLog(log, DEVICE_NAME, transport.url)
        self.repeat_window = repeat_window
        self._framer = em4100.Framer()
        self._last_seen: dict[str, float] = {}
        self._queue: list[UidRead] = []

    @classmethod
    def open(cls, url: str, *, trace: TraceHook | None = None, **options: Any) -> UidReader:
        return cls(open_transport(url, trace=trace, defaults=LINE), **options)

    def close(self) -> None:
        self.transport.close()

    @property
    def url(self) -> str:
        return self.transport.url

    def read(self, timeout: float) -> UidRead | None:
        """The next new tap within ``timeout`` seconds, or None."""
        deadline = time.monotonic() + timeout
        while True:
            if self._queue:
                return self._queue.pop(0)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            chunk = self.transport.read(64, remaining)
            if not chunk:
                continue
            now = time.monotonic()
            for tag in self._framer.feed(chunk):
                self._seen(tag, now)
            if self._framer.discarded:
                self.log.warning("discarded bytes %s", bytes(self._framer.discarded).hex(" "))
                self._framer.discarded.clear()

    def _seen(self, tag: em4100.Tag, now: float) -> None:
        last = self._last_seen.get(tag.uid)
        self._last_seen[tag.uid] = now
        if last is not None and now - last < self.repeat_window:
            return  # the same tag still in the field
        self.log.info("tag %s", tag.uid)
        self._queue.append(UidRead(tag.uid, "em4100", LOW_ASSURANCE, now))

    def self_test(self, *, listen: float = 0.5) -> SelfTestResult:
        try:
            self.transport.discard_input()
            read = self.read(listen)
        except DriverError as err:
            return SelfTestResult(DEVICE_NAME, self.url, False, str(err))
        details = {"port": self.transport.description}
        if read is not None:
            details["tag"] = read.uid
        else:
            details["note"] = "no tag in the field: hold one to the reader to check a read"
        return SelfTestResult(DEVICE_NAME, self.url, True, "", details)


def self_test(url: str, *, trace: TraceHook | None = None) -> SelfTestResult:
    try:
        reader = UidReader.open(url, trace=trace)
    except DriverError as err:
        return SelfTestResult(DEVICE_NAME, url, False, f"cannot open the port: {err}")
    try:
        return reader.self_test()
    finally:
        reader.close()
