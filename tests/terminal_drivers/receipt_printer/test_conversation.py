"""The printer driver as a wire conversation: status, receipt, end marker, status."""

from __future__ import annotations

from terminal_drivers.receipt_printer.device import Receipt, ReceiptPrinter, render
from tests.terminal_drivers.support import Conversation, Step, h

RECEIPT = Receipt("R7", "Lotus Gardens", ["Top-up 20.00"])
FINE = [
    Step(h("10 04 01"), h("12"), "DLE EOT 1 -> online"),
    Step(h("10 04 02"), h("12"), "DLE EOT 2 -> no offline cause"),
    Step(h("10 04 03"), h("12"), "DLE EOT 3 -> no error"),
    Step(h("10 04 04"), h("12"), "DLE EOT 4 -> paper present"),
]


def test_a_receipt_that_prints() -> None:
    line = Conversation(
        [
            *FINE,
            Step(render(RECEIPT) + h("1D 72 01"), h("00"), "receipt + GS r 1 -> paper ok"),
            *FINE,
        ]
    )
    result = ReceiptPrinter(line, status_timeout=0.01, print_timeout=0.01).print_receipt(RECEIPT)
    assert line.finished()
    assert result.printed


def test_cover_open_before_printing_sends_nothing() -> None:
    line = Conversation(
        [
            Step(h("10 04 01"), h("1A"), "DLE EOT 1 -> offline"),
            Step(h("10 04 02"), h("16"), "DLE EOT 2 -> cover open"),
            Step(h("10 04 03"), h("12"), "DLE EOT 3 -> no error"),
            Step(h("10 04 04"), h("12"), "DLE EOT 4 -> paper present"),
        ]
    )
    result = ReceiptPrinter(line, status_timeout=0.01).print_receipt(RECEIPT)
    assert line.finished()
    assert not result.printed
    assert result.problem == "cover_open"


def test_paper_runs_out_while_printing() -> None:
    line = Conversation(
        [
            *FINE,
            Step(render(RECEIPT) + h("1D 72 01"), b"", "receipt + GS r 1 -> no answer"),
            Step(h("10 04 01"), h("1A"), "DLE EOT 1 -> offline"),
            Step(h("10 04 02"), h("32"), "DLE EOT 2 -> stopped by paper end"),
            Step(h("10 04 03"), h("12"), "DLE EOT 3 -> no error"),
            Step(h("10 04 04"), h("72"), "DLE EOT 4 -> paper out"),
        ]
    )
    result = ReceiptPrinter(line, status_timeout=0.01, print_timeout=0.01).print_receipt(RECEIPT)
    assert not result.printed
    assert result.problem == "paper_out"
    assert "stopped before the end of the receipt" in result.reason
