from __future__ import annotations

from collections.abc import Iterator

import pytest

from terminal_drivers.receipt_printer.device import Receipt, ReceiptPrinter
from terminal_drivers.receipt_printer.simulator import PrinterSimulator
from terminal_drivers.transport import open_transport
from tests.terminal_drivers.support import no_leaked_threads

__all__ = ["no_leaked_threads"]


@pytest.fixture
def sim(no_leaked_threads: None) -> Iterator[PrinterSimulator]:
    simulator = PrinterSimulator()
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def printer(sim: PrinterSimulator) -> Iterator[ReceiptPrinter]:
    driver = ReceiptPrinter(open_transport(sim.endpoint), status_timeout=0.1, print_timeout=0.3)
    yield driver
    driver.close()


@pytest.fixture
def receipt() -> Receipt:
    return Receipt(
        reference="K1-000042",
        title="Lotus Gardens",
        lines=["Unit 12-03", "Electricity top-up   20.00", "Balance             135.50"],
        qr="https://estate.example/r/K1-000042",
        footer="Thank you",
    )
