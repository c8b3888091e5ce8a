"""CTC decoding reduced to a plate alphabet, on hand-made probability rows."""

from __future__ import annotations

import numpy as np

from lpr.recognise import LineRead, decode

ALPHABET = "AB1"


def steps(*rows: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of (blank, A, B, 1); whatever is left is "other" (a dash, a dot)."""
    arr = np.array(rows, dtype=np.float64)
    return arr[:, 1:], arr[:, 0]


def test_repeats_collapse_and_blanks_split() -> None:
    chars, blank = steps(
        (0.0, 0.9, 0.05, 0.0),
        (0.0, 0.8, 0.1, 0.0),  # the same A, still
        (0.9, 0.0, 0.0, 0.0),
        (0.0, 0.95, 0.0, 0.0),  # a second A after a blank
        (0.0, 0.0, 0.1, 0.85),
    )
    read = decode(chars, blank, ALPHABET)
    assert read.text == "AA1"
    # A position keeps each character's best step.
    assert read.positions[0]["A"] == 0.9
    assert read.positions[0]["B"] == 0.1


def test_separator_between_groups_is_dropped() -> None:
    chars, blank = steps(
        (0.0, 0.9, 0.0, 0.0),
        (0.05, 0.0, 0.05, 0.0),  # mostly "other": a dash
        (0.0, 0.0, 0.0, 0.95),
    )
    assert decode(chars, blank, ALPHABET).text == "A1"


def test_all_blank_reads_nothing() -> None:
    chars, blank = steps((1.0, 0.0, 0.0, 0.0), (1.0, 0.0, 0.0, 0.0))
    assert decode(chars, blank, ALPHABET).positions == ()


def test_two_reads_that_disagree_average_where_they_differ() -> None:
    narrow = LineRead(({"A": 0.99}, {"I": 0.98, "L": 0.02}))
    wide = LineRead(({"A": 0.97}, {"L": 0.99, "I": 0.01}))
    both = narrow.averaged(wide)
    assert both.positions[0] == {"A": 0.98}
    assert both.positions[1]["L"] == 0.505
    assert both.positions[1]["I"] == 0.495
    assert both.text == "AL"


def test_reads_that_agree_or_do_not_align_keep_the_first() -> None:
    narrow = LineRead(({"A": 0.99}, {"B": 0.98}))
    assert narrow.averaged(LineRead(({"A": 0.5}, {"B": 0.5}))) is narrow
    assert narrow.averaged(LineRead(({"A": 0.5},))) is narrow


def test_clock_and_date_marks_are_kept_where_they_stand() -> None:
    chars, blank = steps(
        (0.0, 0.0, 0.0, 0.95),
        (0.05, 0.0, 0.0, 0.0),  # "other", and mostly a colon
        (0.0, 0.0, 0.0, 0.0),  # the colon's next step: one mark, not two
        (0.0, 0.0, 0.0, 0.95),
        (0.02, 0.0, 0.0, 0.0),  # "other", but no mark: a seal, dropped
        (0.0, 0.9, 0.0, 0.0),
    )
    marks = np.array([[0.0], [0.9], [0.8], [0.0], [0.1], [0.0]])
    read = decode(chars, blank, ALPHABET, marks=marks, mark_symbols=":")
    assert read.text == "11A"
    assert read.marks == ((1, ":"),)
    assert read.marked_text == "1:1A"


def test_without_marks_known_the_text_is_the_marked_text() -> None:
    read = LineRead(({"A": 0.9}, {"1": 0.9}))
    assert read.marked_text == read.text == "A1"
