"""Random fault schedules against the printer simulator: no receipt reported printed
that did not come out whole.

A printer keeps data it could not print and prints it when the fault is
cleared, so a receipt reported as not printed may still appear later (the
kiosk's journal says it failed; the customer may get it anyway). The other
way round never: every receipt reported printed is on the paper, complete.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from terminal_drivers.receipt_printer.device import PrintResult, Receipt, ReceiptPrinter, render
from terminal_drivers.receipt_printer.escpos_stream import printable_text
from terminal_drivers.receipt_printer.simulator import PrinterSimulator
from terminal_drivers.transport import open_transport

ACTIONS = [
    ("paper_out", {}),
    ("load_paper", {}),
    ("paper_out_after", {"lines": 2}),
    ("paper_near_end", {}),
    ("open_cover", {}),
    ("close_cover", {}),
    ("drop_line", {}),
    ("restore_line", {}),
    ("swallow_next", {"count": 1}),
    ("garbage", {"data": "00 FF 80"}),
    ("state", {}),
]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from(ACTIONS), max_size=10))
def test_a_receipt_reported_printed_is_on_the_paper(
    schedule: list[tuple[str, dict[str, object]]],
) -> None:
    sim = PrinterSimulator()
    sim.start()
    printer = ReceiptPrinter(open_transport(sim.endpoint), status_timeout=0.05, print_timeout=0.1)
    results: list[tuple[PrintResult, str]] = []
    try:
        for number, (name, args) in enumerate(schedule):
            sim.handle_command({"cmd": name, **args})
            receipt = Receipt(f"R{number}", "Lotus Gardens", [f"receipt {number}", "20.00"])
            results.append((printer.print_receipt(receipt), printable_text(render(receipt))))
    finally:
        printer.close()
        sim.stop()
    for result, text in results:
        if result.printed:
            assert text in sim.receipts, f"{result.reference} reported printed, not on paper"
        else:
            assert result.problem
            assert result.reason
