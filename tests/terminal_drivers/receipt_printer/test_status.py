"""DLE EOT status bytes (Epson ESC/POS reference) and their meaning."""

from __future__ import annotations

import pytest
from escpos.constants import RT_MASK_LOWPAPER, RT_MASK_NOPAPER, RT_MASK_PAPER, RT_STATUS_PAPER
from hypothesis import given
from hypothesis import strategies as st

from terminal_drivers.receipt_printer.status import (
    DLE_EOT,
    PrinterStatus,
    is_status_byte,
)


def test_python_escpos_agrees_on_the_commands_and_masks() -> None:
    # python-escpos's paper query is DLE EOT 4; its masks are the bytes a printer
    # sends for paper present (0x12), near its end (0x1E) and out (0x72).
    assert RT_STATUS_PAPER == DLE_EOT + b"\x04"
    assert PrinterStatus().to_bytes()[3] == RT_MASK_PAPER == 0x12
    assert PrinterStatus(paper_near_end=True).to_bytes()[3] == RT_MASK_LOWPAPER
    assert PrinterStatus(paper_out=True).to_bytes()[3] == RT_MASK_NOPAPER


@pytest.mark.parametrize(
    ("replies", "problem"),
    [
        ("12 12 12 12", ""),  # online, everything fine
        ("1A 16 12 12", "cover_open"),  # n=1 bit 3 offline; n=2 bit 2 cover open
        ("1A 32 12 72", "paper_out"),  # n=2 bit 5 stopped by paper end; n=4 bits 5-6
        ("1A 52 1A 12", "cutter_error"),  # n=2 bit 6 error; n=3 bit 3 auto-cutter
        ("1A 12 12 12", "offline"),
    ],
)
def test_status_replies(replies: str, problem: str) -> None:
    status = PrinterStatus.from_bytes(*bytes.fromhex(replies))
    assert status.problem == problem


def test_paper_near_end_is_a_warning_not_a_problem() -> None:
    status = PrinterStatus.from_bytes(0x12, 0x12, 0x12, 0x1E)
    assert status.paper_near_end
    assert status.problem == ""


@given(st.builds(PrinterStatus, *(st.booleans() for _ in range(7))))
def test_round_trip(status: PrinterStatus) -> None:
    raw = status.to_bytes()
    assert all(is_status_byte(b) for b in raw)
    again = PrinterStatus.from_bytes(*raw)
    assert again.problem == PrinterStatus.from_bytes(*again.to_bytes()).problem
