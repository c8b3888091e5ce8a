"""The card reader as a terminal's controller holds it: a tap in, a trusted reading out.

``CardReader.open("pcsc://ACS ACR122U 00 00", master_key=..., system_id=...)``
pairs a ``PcscReader`` with the estate application. ``wait_for_tap`` returns one
``CardReading`` per tap (a card left on the reader is not read again until it
has been removed), or raises the package's errors: ``CardNotGenuine`` (refuse,
say so), ``CardRemoved`` (ask for another tap), ``ReaderUnavailable``
(technician).
"""

from __future__ import annotations

import time
from types import TracebackType

from terminal_drivers.card_reader.estate_app import CardReading, EstateCardApp
from terminal_drivers.card_reader.pcsc import DEVICE, CardEvent, PcscReader
from terminal_drivers.errors import DriverError
from terminal_drivers.self_test import SelfTestResult
from terminal_drivers.transport.base import TraceHook

# How long a tapped card may take to answer the whole read (five APDUs take
# about 50 ms through a USB reader; the margin is for a slow hand's wobble).
CONNECT_TIMEOUT = 1.0


class CardReader:
    def __init__(self, reader: PcscReader, app: EstateCardApp) -> None:
        self.reader = reader
        self.app = app

    @classmethod
    def open(
        cls,
        url: str,
        *,
        master_key: bytes,
        system_id: bytes,
        trace: TraceHook | None = None,
    ) -> CardReader:
        app = EstateCardApp(master_key=master_key, system_id=system_id)
        return cls(PcscReader.from_url(url, trace=trace), app)

    @property
    def url(self) -> str:
        return self.reader.url

    def wait_for_tap(self, timeout: float) -> CardReading | None:
        """The next card tapped within ``timeout`` seconds, read and checked; None if none."""
        deadline = time.monotonic() + timeout
        while True:
            event = self.reader.wait_for_event(max(0.0, deadline - time.monotonic()))
            if event is None:
                return None
            if event is CardEvent.INSERTED:
                return self.read_present_card()

    def read_present_card(self) -> CardReading:
        """Read the card in the field now (raises ``NoCard`` when there is none)."""
        with self.reader.connect(timeout=CONNECT_TIMEOUT) as connection:
            return self.app.read(connection)

    def wait_for_removal(self, timeout: float) -> bool:
        return self.reader.wait_for_removal(timeout)

    def self_test(self) -> SelfTestResult:
        return self.reader.self_test()

    def close(self) -> None:
        self.reader.close()

    def __enter__(self) -> CardReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def self_test(url: str, *, trace: TraceHook | None = None) -> SelfTestResult:
    """The technician's check of ``pcsc://<reader name>``: pcscd answers, the reader is there."""
    try:
        reader = PcscReader.from_url(url, trace=trace)
    except DriverError as err:
        return SelfTestResult(DEVICE, url, False, str(err))
    with reader:
        return reader.self_test()
