"""The ESC/POS scanner: text from python-escpos output, and fuzzed."""

from __future__ import annotations

from escpos.printer import Dummy
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal_drivers.receipt_printer import escpos_stream
from terminal_drivers.receipt_printer.device import Receipt, render
from terminal_drivers.receipt_printer.escpos_stream import Kind, printable_text, scan


def test_text_of_python_escpos_output() -> None:
    printer = Dummy()
    printer.set(align="center", bold=True, double_height=True)
    printer.textln("Lotus Gardens")
    printer.set(normal_textsize=True)
    printer.qr("https://estate.example/r/1", native=True)
    printer.barcode("123456789012", "EAN13")
    printer.textln("Balance 35.00")
    printer.cut()
    assert printable_text(printer.output) == "Lotus Gardens\nBalance 35.00\n"


def test_rendered_receipt_ends_with_a_cut() -> None:
    data = render(Receipt("R1", "Title", ["a line"]))
    assert printable_text(data) == "Title\na line\n#R1\n"
    assert data.endswith(b"\x1dV\x00")  # GS V 0: full cut


def test_realtime_status_and_cut_tokens() -> None:
    assert scan(b"\x10\x04\x02rest") == (3, escpos_stream.Token(Kind.STATUS, b"\x10\x04\x02"))
    assert scan(b"\x1dV\x41\x03") == (4, escpos_stream.Token(Kind.CUT, b"\x1dV\x41\x03"))
    assert scan(b"\x1dr\x01")[1] == escpos_stream.Token(Kind.PAPER_STATUS, b"\x1dr\x01")
    assert scan(b"\x1d(k\x04\x00") == (0, None)  # QR header without its data yet


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_fuzz_scan_never_raises_and_always_progresses(data: bytes) -> None:
    rest = data
    while rest:
        consumed, token = scan(rest)
        if consumed == 0:
            break  # incomplete command at the end: waits for more bytes
        assert token is not None
        rest = rest[consumed:]
    printable_text(data)
