"""Readers as credential sources: each ``read(timeout)`` gives a ``Credential`` or None.

The reader's own time of the read (``at``, monotonic) travels with it, so the
controller can measure from the tap, not from when the loop got to it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from gate.turnstile.authoriser import Credential


@dataclass(frozen=True)
class Presented:
    credential: Credential
    at: float  # time.monotonic() of the read


class Source(Protocol):
    name: str

    def read(self, timeout: float) -> Presented | None: ...

    def close(self) -> None: ...


class UidSource:
    """A 125 kHz reader: every read is low assurance (a copyable number)."""

    name = "uid"

    def __init__(self, reader: Any) -> None:
        self.reader = reader  # terminal_drivers.uid_reader.UidReader

    def read(self, timeout: float) -> Presented | None:
        read = self.reader.read(timeout)
        if read is None:
            return None
        return Presented(Credential("uid", read.uid, low_assurance=True), read.at)

    def close(self) -> None:
        self.reader.close()


class QrSource:
    """A serial or camera QR scanner; the text is the resident's token."""

    name = "qr"

    def __init__(self, scanner: Any) -> None:
        self.scanner = scanner  # SerialQrScanner or CameraQrScanner

    def read(self, timeout: float) -> Presented | None:
        scan = self.scanner.read(timeout)
        if scan is None:
            return None
        return Presented(Credential("qr", scan.text), scan.at)

    def close(self) -> None:
        self.scanner.close()


class CardSource:
    """A PC/SC reader with the estate application: genuine cards are high assurance;
    a card that can only give its UID is low assurance, as DESIGN.md says."""

    name = "card"

    def __init__(self, reader: Any) -> None:
        self.reader = reader  # terminal_drivers.card_reader.CardReader

    def read(self, timeout: float) -> Presented | None:
        reading = self.reader.wait_for_tap(timeout)
        if reading is None:
            return None
        at = time.monotonic()
        if reading.card_number is not None:
            return Presented(Credential("card", reading.card_number), at)
        return Presented(Credential("uid", reading.uid_hex, low_assurance=True), at)

    def close(self) -> None:
        self.reader.close()
