"""A stand-in transport module for the registry test: ``spy:///dev/pts/N``."""

from __future__ import annotations

from terminal_drivers.transport import LineSettings, TraceHook, Transport
from terminal_drivers.transport.serial_port import open_serial


def open_spy(url: str, *, trace: TraceHook | None, defaults: LineSettings) -> Transport:
    inner = open_serial(url.removeprefix("spy://"), trace=trace, defaults=defaults)
    inner.url = url
    return inner
