"""Serial lines through pyserial: device paths, ptys, ``serial://`` and ``socket://``.

``serial:///dev/ttyUSB0?baud=9600&parity=E&timeout=0.5`` sets the line from
the URL; a bare path (``/dev/ttyUSB0``, ``/dev/pts/5``) takes the driver's
defaults. ``socket://host:port`` goes through pyserial's own socket handler, so
a serial-to-Ethernet converter or a simulator on another host looks the same.
"""

from __future__ import annotations

import logging
import os
import termios
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import serial

from terminal_drivers.errors import CommunicationError, ConfigurationError
from terminal_drivers.transport.base import TraceHook, Transport

log = logging.getLogger(__name__)

_PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}


@dataclass(frozen=True)
class LineSettings:
    """What a device's manual says about its serial line."""

    baud: int = 9600
    parity: str = "N"
    stopbits: int = 1
    bytesize: int = 8


def _settings_from_query(query: str, defaults: LineSettings) -> tuple[LineSettings, float | None]:
    params = {k: v[-1] for k, v in parse_qs(query).items()}
    try:
        settings = LineSettings(
            baud=int(params.get("baud", defaults.baud)),
            parity=params.get("parity", defaults.parity).upper()[:1],
            stopbits=int(params.get("stopbits", defaults.stopbits)),
            bytesize=int(params.get("bytesize", defaults.bytesize)),
        )
        timeout = float(params["timeout"]) if "timeout" in params else None
    except ValueError as err:
        raise ConfigurationError(f"bad serial setting in '?{query}': {err}") from err
    if settings.parity not in _PARITIES:
        raise ConfigurationError(f"parity must be N, E or O, not {settings.parity!r}")
    return settings, timeout


class SerialTransport(Transport):
    """A pyserial port; every pyserial error leaves here as a ``CommunicationError``."""

    def __init__(
        self, url: str, port: serial.SerialBase, settings: LineSettings, trace: TraceHook | None
    ) -> None:
        super().__init__(url, trace=trace)
        self._port = port
        self.settings = settings
        # A per-URL reply timeout, when the technician gave one, for the driver to honour.
        self.timeout_hint: float | None = None

    @property
    def description(self) -> str:
        s = self.settings
        return f"{self._port.port} at {s.baud} baud, {s.bytesize}{s.parity}{s.stopbits}"

    def _write(self, data: bytes) -> None:
        try:
            self._port.write(data)
            self._port.flush()
        except (serial.SerialException, OSError, termios.error) as err:
            raise CommunicationError(f"write to {self.description} failed: {err}") from err

    def _read(self, size: int, timeout: float) -> bytes:
        try:
            timeout = round(max(timeout, 0.0), 2)
            if self._port.timeout != timeout:  # each change is a tcsetattr on POSIX
                self._port.timeout = timeout
            data = bytes(self._port.read(1))
            # The rest of a reply is already on its way: take what is buffered now.
            # (pyserial's socket:// counts "readable" as 1, so ask again until empty.)
            while data and len(data) < size and (waiting := self._port.in_waiting):
                data += bytes(self._port.read(min(size - len(data), waiting)))
            return data
        except (serial.SerialException, OSError, termios.error) as err:
            raise CommunicationError(f"read from {self.description} failed: {err}") from err

    def _discard_input(self) -> None:
        try:
            self._port.reset_input_buffer()
        except (serial.SerialException, OSError, termios.error) as err:
            raise CommunicationError(f"{self.description}: {err}") from err

    def close(self) -> None:
        try:
            self._port.close()
        except (serial.SerialException, OSError, termios.error):
            log.warning("closing %s failed", self.url, exc_info=True)


def _open(url: str, port_name: str, settings: LineSettings, trace: TraceHook | None) -> Transport:
    started = time.monotonic()
    parity = settings.parity
    if parity != "N" and os.path.realpath(port_name).startswith("/dev/pts/"):
        # Some kernels refuse PARENB on a pty (tcsetattr: EINVAL) and a pty never
        # carries parity anyway: the simulator on the other end does not see it.
        log.debug("%s is a pty: opening without parity", port_name)
        parity = "N"
    try:
        port = serial.serial_for_url(
            port_name,
            baudrate=settings.baud,
            parity=_PARITIES[parity],
            stopbits=settings.stopbits,
            bytesize=settings.bytesize,
            timeout=0,
            exclusive=None if port_name.startswith("socket://") else True,
        )
    except (serial.SerialException, OSError, termios.error, ValueError) as err:
        raise CommunicationError(f"cannot open {port_name}: {err}") from err
    log.debug("opened %s in %.3f s", url, time.monotonic() - started)
    return SerialTransport(url, port, settings, trace)


def open_serial(url: str, *, trace: TraceHook | None, defaults: LineSettings) -> Transport:
    """``serial:///dev/ttyUSB0?baud=...`` or a bare device path."""
    parts = urlsplit(url)
    path = parts.path if parts.scheme == "serial" else url.split("?", 1)[0]
    query = parts.query if parts.scheme == "serial" else ([*url.split("?", 1), ""])[1]
    if not path:
        raise ConfigurationError(f"no device path in {url!r}")
    settings, timeout = _settings_from_query(query, defaults)
    transport = _open(url, path, settings, trace)
    assert isinstance(transport, SerialTransport)
    transport.timeout_hint = timeout
    return transport


def open_socket(url: str, *, trace: TraceHook | None, defaults: LineSettings) -> Transport:
    """``socket://host:port``: a raw TCP byte stream (serial server, network printer)."""
    parts = urlsplit(url)
    if not parts.hostname or not parts.port:
        raise ConfigurationError(f"socket URL needs a host and a port: {url!r}")
    return _open(url, f"socket://{parts.hostname}:{parts.port}", defaults, trace)
