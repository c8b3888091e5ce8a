"""Kiosk fixtures: one central server per session, fresh simulators and journal per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.controller import KioskController
from kiosk.devices import Devices
from kiosk.gateway import HttpCentral
from kiosk.journal import KioskJournal
from kiosk.settings import KioskSettings
from terminal_drivers.bill_acceptor.device import LINE as BILL_LINE
from terminal_drivers.bill_acceptor.device import BillAcceptor
from terminal_drivers.bill_acceptor.simulator import BillAcceptorSimulator
from terminal_drivers.card_reader.demo_keys import DEMO_MASTER_KEY, DEMO_SYSTEM_ID
from terminal_drivers.card_reader.simulator import CardSimulator
from terminal_drivers.coin_acceptor.device import LINE as COIN_LINE
from terminal_drivers.coin_acceptor.device import CoinAcceptor
from terminal_drivers.coin_acceptor.simulator import CoinAcceptorSimulator
from terminal_drivers.receipt_printer.device import ReceiptPrinter
from terminal_drivers.receipt_printer.simulator import PrinterSimulator
from terminal_drivers.transport import open_transport
from tests.kiosk.support import QR_KEY, CentralServer, enrol_kiosk, start_central
from tests.terminal_drivers.card_reader.conftest import TEST_PORT, _vpcd_port_lock, pcscd

# pcscd and its lock are session fixtures: defined here once for every kiosk test
# module (imported into two modules, each would take the lock and wait on the other).
__all__ = ["_vpcd_port_lock", "pcscd"]

__all__ += ["QR_KEY"]


@pytest.fixture(scope="session")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CentralServer]:
    server = start_central(tmp_path_factory.mktemp("central"))
    yield server
    server.stop()


class Rig:
    """The kiosk's hardware as simulators, and the kiosk built over them."""

    def __init__(self, central: CentralServer, journal_path: Path) -> None:
        self.central = central
        self.journal_path = journal_path
        self.bill_sim = BillAcceptorSimulator(escrow_timeout=5.0)
        self.coin_sim = CoinAcceptorSimulator()
        self.printer_sim = PrinterSimulator()
        for sim in (self.bill_sim, self.coin_sim, self.printer_sim):
            sim.start()
        # Each test's kiosk is a terminal of its own, enrolled with a manager's code.
        self.identity = enrol_kiosk(central)
        self.settings = KioskSettings(
            terminal_id=self.identity.terminal_id,
            server_url=central.base_url,
            journal_path=str(journal_path),
            card_master_key=DEMO_MASTER_KEY,
            card_system_id=DEMO_SYSTEM_ID,
            qr_token_key=QR_KEY,
            sync_interval_s=0.2,
            technician_pin="2468",
        )
        self.controllers: list[KioskController] = []

    def devices(self, *, card: object = None) -> Devices:
        return Devices(
            bill=BillAcceptor(open_transport(self.bill_sim.endpoint, defaults=BILL_LINE),
                              reply_timeout=0.1),
            coin=CoinAcceptor(open_transport(self.coin_sim.endpoint, defaults=COIN_LINE),
                              reply_timeout=0.1),
            printer=ReceiptPrinter(open_transport(self.printer_sim.endpoint),
                                   status_timeout=0.1, print_timeout=1.0),
            card=card,  # type: ignore[arg-type]
        )  # fmt: skip

    def kiosk(self, *, devices: Devices | None = None, base_url: str = "") -> KioskController:
        gateway = HttpCentral(base_url or self.central.base_url, identity=self.identity)
        journal = KioskJournal(self.journal_path, self.identity)
        controller = KioskController(
            self.settings, gateway=gateway, journal=journal, devices=devices or self.devices()
        )
        self.controllers.append(controller)
        controller.start()
        return controller

    def shutdown(self, controller: KioskController) -> None:
        controller.close()
        controller.devices.close()
        controller.journal.close()
        self.controllers.remove(controller)

    def close(self) -> None:
        for controller in list(self.controllers):
            self.shutdown(controller)
        for sim in (self.bill_sim, self.coin_sim, self.printer_sim):
            sim.stop()


@pytest.fixture
def rig(central: CentralServer, tmp_path: Path) -> Iterator[Rig]:
    r = Rig(central, tmp_path / "journal.sqlite3")
    yield r
    r.close()


@pytest.fixture
def card_sim(pcscd: None) -> Iterator[CardSimulator]:
    with CardSimulator(port=TEST_PORT) as sim:
        yield sim
