"""The errors every terminal driver raises, grouped by what the caller can do.

A caller catches ``DriverError`` to catch anything a driver raises; it catches a
subclass to act on it:

- ``CommunicationError``: nothing (or not enough) came back, the port would not
  open, the line dropped. Retry, then tell a technician to check the cable.
- ``ProtocolError``: bytes came back but make no sense (bad CRC or checksum,
  garbage, a reply to another command). The driver resynchronises; repeated
  protocol errors usually mean a wrong baud rate or protocol setting.
- ``DeviceNeedsTechnician``: the device reports a condition only a person can
  clear (a jam, the cash box removed or full, paper out, a failure code).
- ``DeviceRefused``: the device understood the request and declined it (a note
  rejected, a card refused): an ordinary business outcome, shown to the user.
- ``ConfigurationError``: the device URL or settings are wrong; no retry helps.

Drivers translate library errors (``serial.SerialException``, ``OSError``,
pyscard's exceptions) at their boundary with ``raise ... from err``, so a
caller never needs to import those libraries to handle a failure.
"""

from __future__ import annotations


class DriverError(Exception):
    """Base class of every error raised by ``terminal_drivers``."""


class CommunicationError(DriverError):
    """The device could not be reached or stopped answering: retry, check the cable."""


class DeviceTimeout(CommunicationError):
    """The device was silent for longer than the protocol allows."""


class ProtocolError(DriverError):
    """Bytes arrived but do not form a valid frame or reply: resynchronise."""


class ChecksumError(ProtocolError):
    """A frame was complete but its CRC or checksum did not match."""


class DeviceNeedsTechnician(DriverError):
    """The device reports a fault only a person can clear (jam, cassette, paper)."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        # A stable machine-readable name of the fault ("stacker_jam", "paper_out").
        self.code = code


class DeviceRefused(DriverError):
    """The device understood the request and declined it (a business outcome)."""

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class ConfigurationError(DriverError):
    """The device URL or settings are invalid; retrying will not help."""
