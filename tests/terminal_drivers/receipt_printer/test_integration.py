"""The printer driver against the ESC/POS simulator over a real pty."""

from __future__ import annotations

import os
import tty

import pytest

from terminal_drivers.errors import CommunicationError, DeviceNeedsTechnician
from terminal_drivers.receipt_printer.device import Receipt, ReceiptPrinter, self_test
from terminal_drivers.receipt_printer.simulator import PrinterSimulator
from terminal_drivers.simulation.tcp_front import TcpFront
from terminal_drivers.transport import open_transport


def test_a_receipt_prints_and_is_confirmed(
    printer: ReceiptPrinter, sim: PrinterSimulator, receipt: Receipt
) -> None:
    result = printer.print_receipt(receipt)
    assert result.printed, result.reason
    assert sim.receipts == [
        "Lotus Gardens\nUnit 12-03\nElectricity top-up   20.00\n"
        "Balance             135.50\nThank you\n#K1-000042\n"
    ]
    assert sim.qr_codes == ["https://estate.example/r/K1-000042"]


def test_paper_out_before_the_receipt(
    printer: ReceiptPrinter, sim: PrinterSimulator, receipt: Receipt
) -> None:
    sim.paper_out()
    result = printer.print_receipt(receipt)
    assert not result.printed
    assert result.problem == "paper_out"
    assert sim.receipts == []
    with pytest.raises(DeviceNeedsTechnician):
        result.raise_for_problem()


def test_cover_open_before_the_receipt(
    printer: ReceiptPrinter, sim: PrinterSimulator, receipt: Receipt
) -> None:
    sim.open_cover()
    result = printer.print_receipt(receipt)
    assert result.problem == "cover_open"
    sim.close_cover()
    assert printer.print_receipt(receipt).printed


def test_paper_out_in_the_middle_of_the_receipt(
    printer: ReceiptPrinter, sim: PrinterSimulator, receipt: Receipt
) -> None:
    sim.paper_out_after(lines=2)
    result = printer.print_receipt(receipt)
    assert not result.printed
    assert result.problem == "paper_out"
    assert sim.text == "Lotus Gardens\nUnit 12-03\n"
    assert sim.receipts == []


def test_cover_opened_while_printing_is_reported(
    printer: ReceiptPrinter, sim: PrinterSimulator, receipt: Receipt
) -> None:
    # The cover opens after the status check: the data waits in the printer.
    real_status = printer.status
    calls = 0

    def status_then_open() -> object:
        nonlocal calls
        calls += 1
        status = real_status()
        if calls == 1:
            sim.open_cover()
        return status

    printer.status = status_then_open  # type: ignore[assignment,method-assign]
    result = printer.print_receipt(receipt)
    assert not result.printed
    assert result.problem == "cover_open"


def test_paper_near_end_prints_with_a_warning(
    printer: ReceiptPrinter, sim: PrinterSimulator, receipt: Receipt
) -> None:
    sim.paper_near_end()
    result = printer.print_receipt(receipt)
    assert result.printed
    assert result.warnings


def test_garbage_before_the_status_is_skipped(
    printer: ReceiptPrinter, sim: PrinterSimulator, receipt: Receipt
) -> None:
    sim.send_garbage(data="00 FF 80")
    assert printer.print_receipt(receipt).printed


def test_a_dropped_line_is_reported_not_dropped(
    printer: ReceiptPrinter, sim: PrinterSimulator, receipt: Receipt
) -> None:
    sim.drop_line()
    result = printer.print_receipt(receipt)
    assert not result.printed
    assert result.problem == "no_reply"
    with pytest.raises(CommunicationError):
        result.raise_for_problem()
    sim.restore_line()
    assert printer.print_receipt(receipt).printed


def test_self_test(sim: PrinterSimulator) -> None:
    assert self_test(sim.endpoint).ok
    sim.paper_out()
    result = self_test(sim.endpoint)
    assert not result.ok
    assert result.reason == "the printer is out of paper: load a new roll"


def test_self_test_with_nothing_there() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        printer = ReceiptPrinter(open_transport(os.ttyname(slave)), status_timeout=0.05)
        result = printer.self_test()
        printer.close()
    finally:
        os.close(master)
        os.close(slave)
    assert not result.ok
    assert result.reason.startswith("no reply on /dev/pts/")


def test_a_file_printer_is_unconfirmed(tmp_path: os.PathLike[str], receipt: Receipt) -> None:
    path = os.path.join(tmp_path, "lp0")
    printer = ReceiptPrinter.open(f"file://{path}")
    result = printer.print_receipt(receipt)
    printer.close()
    assert result.printed
    assert not result.confirmed
    with open(path, "rb") as out:
        assert b"Lotus Gardens" in out.read()


def test_a_network_printer_over_socket_url(sim: PrinterSimulator, receipt: Receipt) -> None:
    # A network receipt printer takes raw ESC/POS on TCP (port 9100 on real ones).
    front = TcpFront(sim)
    url = front.start()
    try:
        printer = ReceiptPrinter.open(url, status_timeout=0.2, print_timeout=0.5)
        sim.paper_near_end()
        result = printer.print_receipt(receipt)
        printer.close()
    finally:
        front.stop()
    assert result.printed, result.reason
    assert result.warnings
    assert len(sim.receipts) == 1
