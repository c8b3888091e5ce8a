"""The byte pipe every driver talks through, and the wire-tap hook it carries.

A transport moves bytes and nothing else: framing lives in each device's
protocol module, retries and state in its device module. Every byte written or
read passes through the trace hook first, so a technician can watch a live line
(pyserial's ``spy://`` idea) without changing the driver.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

log = logging.getLogger(__name__)


class Direction(StrEnum):
    WRITE = "tx"  # host to device
    READ = "rx"  # device to host


@dataclass(frozen=True)
class TraceEvent:
    """One chunk of bytes that crossed the line, as the host saw it."""

    url: str
    direction: Direction
    data: bytes
    timestamp: float  # time.monotonic()

    def __str__(self) -> str:
        return f"{self.timestamp:.6f} {self.url} {self.direction} {self.data.hex(' ')}"


TraceHook = Callable[[TraceEvent], None]


def log_trace(event: TraceEvent) -> None:
    """A ready-made hook: every chunk as a hex dump at DEBUG level."""
    logging.getLogger("terminal_drivers.wire").debug("%s", event)


class Transport(abc.ABC):
    """A bidirectional byte stream to one device, opened from a URL."""

    def __init__(self, url: str, *, trace: TraceHook | None = None) -> None:
        self.url = url
        self._trace = trace

    # -- what subclasses implement -------------------------------------------
    @abc.abstractmethod
    def _write(self, data: bytes) -> None: ...

    @abc.abstractmethod
    def _read(self, size: int, timeout: float) -> bytes:
        """Up to ``size`` bytes, waiting at most ``timeout`` s for the first one."""

    @abc.abstractmethod
    def _discard_input(self) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    @property
    def description(self) -> str:
        """How the line is set up, for a technician's message ("at 9600 baud")."""
        return self.url

    # -- what drivers call ----------------------------------------------------
    def write(self, data: bytes) -> None:
        self._emit(Direction.WRITE, data)
        self._write(data)

    def read(self, size: int, timeout: float) -> bytes:
        data = self._read(size, timeout)
        if data:
            self._emit(Direction.READ, data)
        return data

    def discard_input(self) -> None:
        """Drop whatever the device sent that nobody read (stale replies, noise)."""
        self._discard_input()

    def set_trace(self, trace: TraceHook | None) -> None:
        self._trace = trace

    def _emit(self, direction: Direction, data: bytes) -> None:
        if self._trace is None:
            return
        try:
            self._trace(TraceEvent(self.url, direction, bytes(data), time.monotonic()))
        except Exception:  # a broken wire-tap must never break the device
            log.exception("trace hook failed on %s", self.url)

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
