"""Open a device's byte stream from a URL; the URL's scheme picks the module.

Flow: ``open_transport(url)`` looks the scheme up in ``SCHEMES`` (a bare path
counts as ``serial``), imports ``module:function`` and calls it with the URL,
the trace hook and the device's line defaults. A new kind of line is a new
module and one new line in ``SCHEMES``; nothing else changes.

- ``/dev/ttyUSB0``, ``/dev/pts/5``: a serial port or pty with the driver's defaults
- ``serial:///dev/ttyUSB0?baud=9600&parity=E&timeout=0.5``: settings in the URL
- ``socket://host:port``: raw TCP (serial servers, network printers)
- ``sim://bill-acceptor?pace=1``: the built-in simulator on a pty, in-process

An opener's signature is
``open_x(url: str, *, trace: TraceHook | None, defaults: LineSettings) -> Transport``;
openers for lines that are not serial ignore ``defaults``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from urllib.parse import urlsplit

from terminal_drivers.errors import ConfigurationError
from terminal_drivers.transport.base import (
    Direction,
    TraceEvent,
    TraceHook,
    Transport,
    log_trace,
)
from terminal_drivers.transport.serial_port import LineSettings

__all__ = [
    "SCHEMES",
    "Direction",
    "LineSettings",
    "TraceEvent",
    "TraceHook",
    "Transport",
    "log_trace",
    "open_transport",
]

SCHEMES: dict[str, str] = {
    "serial": "terminal_drivers.transport.serial_port:open_serial",
    "socket": "terminal_drivers.transport.serial_port:open_socket",
    "sim": "terminal_drivers.transport.sim:open_sim",
}

Opener = Callable[..., Transport]


def scheme_of(url: str) -> str:
    if url.startswith("/"):
        return "serial"
    scheme = urlsplit(url).scheme
    if not scheme:
        raise ConfigurationError(f"not a device URL or path: {url!r}")
    return scheme


def open_transport(
    url: str, *, trace: TraceHook | None = None, defaults: LineSettings | None = None
) -> Transport:
    """Open ``url``; raises ``ConfigurationError`` or ``CommunicationError``."""
    scheme = scheme_of(url)
    target = SCHEMES.get(scheme)
    if target is None:
        known = ", ".join(sorted(SCHEMES))
        raise ConfigurationError(f"unknown device URL scheme {scheme!r} in {url!r} ({known})")
    module_name, func_name = target.split(":")
    opener: Opener = getattr(importlib.import_module(module_name), func_name)
    return opener(url, trace=trace, defaults=defaults or LineSettings())
