"""The kiosk's peripherals, opened from their URLs, each one optional.

A device that cannot be opened, or stops answering, is marked failed with the
reason; the kiosk carries on with what is left (DESIGN.md, degraded hardware).
Only the controller's thread touches a device.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.settings import KioskSettings
from terminal_drivers.bill_acceptor.device import BillAcceptor
from terminal_drivers.card_reader.device import CardReader
from terminal_drivers.coin_acceptor.device import CoinAcceptor
from terminal_drivers.errors import DriverError
from terminal_drivers.receipt_printer.device import ReceiptPrinter

log = logging.getLogger(__name__)

BILL, COIN, PRINTER, CARD = "bill_acceptor", "coin_acceptor", "printer", "card_reader"


@dataclass(frozen=True)
class DeviceHealth:
    name: str
    fitted: bool
    ok: bool
    detail: str = ""


class Devices:
    def __init__(
        self,
        *,
        bill: BillAcceptor | None = None,
        coin: CoinAcceptor | None = None,
        printer: ReceiptPrinter | None = None,
        card: CardReader | None = None,
    ) -> None:
        self.bill = bill
        self.coin = coin
        self.printer = printer
        self.card = card
        self.health: dict[str, DeviceHealth] = {}
        for name, device in ((BILL, bill), (COIN, coin), (PRINTER, printer), (CARD, card)):
            self.health[name] = DeviceHealth(name, device is not None, device is not None)

    @classmethod
    def open(cls, settings: KioskSettings) -> Devices:
        devices = cls()
        opened: dict[str, object] = {}
        openers: dict[str, tuple[str, Callable[[str], object]]] = {
            BILL: (settings.bill_acceptor_url, lambda url: BillAcceptor.open(url)),
            COIN: (settings.coin_acceptor_url, lambda url: CoinAcceptor.open(url)),
            PRINTER: (
                settings.printer_url,
                lambda url: ReceiptPrinter.open(url, status_timeout=0.3, print_timeout=5.0),
            ),
            CARD: (
                settings.card_reader_url,
                lambda url: CardReader.open(
                    url, master_key=settings.card_master_key, system_id=settings.card_system_id
                ),
            ),
        }
        for name, (url, opener) in openers.items():
            if not url:
                devices.health[name] = DeviceHealth(name, False, False, "not fitted")
                continue
            try:
                opened[name] = opener(url)
                devices.health[name] = DeviceHealth(name, True, True)
            except (DriverError, OSError) as err:
                log.error("cannot open %s at %s: %s", name, url, err)
                devices.health[name] = DeviceHealth(name, True, False, f"cannot open: {err}")
        devices.bill = opened.get(BILL)  # type: ignore[assignment]
        devices.coin = opened.get(COIN)  # type: ignore[assignment]
        devices.printer = opened.get(PRINTER)  # type: ignore[assignment]
        devices.card = opened.get(CARD)  # type: ignore[assignment]
        return devices

    def ok(self, name: str) -> bool:
        return self.health[name].ok

    def mark(self, name: str, ok: bool, detail: str = "") -> bool:
        """Record a device's state; True when it changed."""
        old = self.health[name]
        new = DeviceHealth(name, old.fitted, ok, detail)
        self.health[name] = new
        if old.ok != ok:
            (log.info if ok else log.error)("%s %s %s", name, "OK" if ok else "FAILED", detail)
        return old != new

    def close(self) -> None:
        for device in (self.bill, self.coin, self.printer, self.card):
            if device is not None:
                try:
                    device.close()
                except (DriverError, OSError) as err:
                    log.warning("closing %s: %s", device, err)
