"""Printer lines python-escpos owns (``file://``, ``usb://``) as transports.

Serial ports, ptys and network printers (``socket://host:9100``) go through
``terminal_drivers.transport``; these two use python-escpos's File and Usb
classes, wrapped so the driver, the trace hook and the status reads are the
same for every connection. A connection that cannot read (a plain file)
reports no status: the driver says so in its result instead of guessing.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from terminal_drivers.errors import CommunicationError, ConfigurationError
from terminal_drivers.transport import TraceHook, Transport, open_transport


class EscposTransport(Transport):
    """A python-escpos printer object seen as a byte transport."""

    def __init__(self, url: str, printer: Any, *, trace: TraceHook | None) -> None:
        super().__init__(url, trace=trace)
        self._printer = printer
        self.can_read = True

    def _write(self, data: bytes) -> None:
        try:
            self._printer._raw(data)
        except Exception as err:  # python-escpos raises OSError, usb.core errors, ...
            raise CommunicationError(f"write to {self.url} failed: {err}") from err

    def _read(self, size: int, timeout: float) -> bytes:
        if not self.can_read:
            time.sleep(min(timeout, 0.01))
            return b""
        try:
            data = self._printer._read()
        except NotImplementedError:
            self.can_read = False
            return b""
        except Exception as err:
            raise CommunicationError(f"read from {self.url} failed: {err}") from err
        return bytes(data or b"")[:size]

    def _discard_input(self) -> None:
        pass

    def close(self) -> None:
        try:
            self._printer.close()
        except Exception as err:
            raise CommunicationError(f"closing {self.url} failed: {err}") from err


def _file(url: str, trace: TraceHook | None) -> Transport:
    from escpos.printer import File

    path = urlsplit(url).path
    try:
        printer = File(path)
        printer.open()
    except Exception as err:
        raise CommunicationError(f"cannot open printer file {path}: {err}") from err
    transport = EscposTransport(url, printer, trace=trace)
    transport.can_read = False  # python-escpos's File is write-only
    return transport


def _usb(url: str, trace: TraceHook | None) -> Transport:
    """``usb://04b8:0e15``: vendor and product id in hex (needs pyusb)."""
    try:
        vendor, product = (int(part, 16) for part in urlsplit(url).netloc.split(":"))
    except ValueError as err:
        raise ConfigurationError(f"USB printer URL is usb://VID:PID in hex, not {url!r}") from err
    try:
        from escpos.printer import Usb

        printer = Usb(vendor, product, timeout=500)
        printer.open()
    except ImportError as err:
        raise ConfigurationError("USB printers need pyusb: pip install pyusb") from err
    except Exception as err:
        raise CommunicationError(f"cannot open USB printer {url}: {err}") from err
    return EscposTransport(url, printer, trace=trace)


def open_printer_line(url: str, *, trace: TraceHook | None = None) -> Transport:
    scheme = urlsplit(url).scheme
    if scheme == "file":
        return _file(url, trace)
    if scheme == "usb":
        return _usb(url, trace)
    return open_transport(url, trace=trace)
