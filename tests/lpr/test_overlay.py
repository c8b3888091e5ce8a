"""The camera's burnt-in time and name: told from plates by their marks and layout."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from lpr import render
from lpr.detect import TextLine
from lpr.overlay import ROW_REACH, beside, overlay_lines, shows_time
from lpr.recognise import LineRead


def marked(text: str) -> LineRead:
    """A sure read of ``text``, its clock and date marks kept as the recogniser keeps them."""
    positions: list[dict[str, float]] = []
    marks: list[tuple[int, str]] = []
    for ch in text:
        if ch in ":/.-":
            marks.append((len(positions), ch))
        elif ch != " ":
            positions.append({ch: 0.99})
    return LineRead(tuple(positions), (), tuple(marks))


def test_times_and_dates_as_cameras_print_them() -> None:
    for stamp in (
        "10/16/2025 10:09:06 PM",
        "10:30:03 PM",  # the time alone, the date boxed apart from it
        "2020-01-14 23:03:11",
        "2020-01-14",
        "20.07.2026 00:13",
        "02/08/2020",
    ):
        assert shows_time(marked(stamp)), stamp


def test_plates_with_their_separators_show_no_time() -> None:
    for plate in ("AB-123-CD", "B-MW 1234", "京A.12345", "12-AB-34", "ABC-1234", "1-ABC-123"):
        assert not shows_time(marked(plate)), plate


@given(st.sampled_from(render.MIXED_REGIONS), st.integers(0, 2**32 - 1), st.data())
def test_no_plate_shows_a_time_with_dashes_or_dots_between_its_groups(
    region: str, seed: int, data: st.DataObject
) -> None:
    text = render.random_plate(region, random.Random(seed))
    # Plates put a separator where letters give way to digits or back.
    groups = [i for i in range(1, len(text)) if text[i - 1].isdigit() != text[i].isdigit()]
    chosen = data.draw(st.lists(st.sampled_from(groups), unique=True) if groups else st.just([]))
    sep = data.draw(st.sampled_from("-. "))
    for i in sorted(chosen, reverse=True):
        text = text[:i] + sep + text[i:]
    assert not shows_time(marked(text)), text


def line(x: float, y: float, w: float, h: float) -> TextLine:
    return TextLine((x + w / 2, y + h / 2), (w, h), 0.0, 0.9)


def test_the_name_under_the_time_or_along_its_row_is_beside_it() -> None:
    stamp = line(966, 651, 306, 35)
    assert beside(line(1142, 690, 128, 30), stamp)  # right-aligned, the row under it
    assert beside(line(10, 651, 120, 35), line(150, 651, 300, 35))  # along one row
    assert not beside(line(506, 436, 142, 60), stamp)  # a plate across the picture
    assert not beside(line(1142, 690, 128, 90), stamp)  # text three times the size
    # A plate's line just above the time, which its box overlaps from side to side:
    # the rows of an overlay touch, and there is room between these.
    assert not beside(line(852, 563, 121, 46), line(879, 637, 394, 50))


def test_a_word_far_along_the_time_row_and_the_name_under_it_are_the_overlay() -> None:
    # The detector found the date and the AM but missed the time between them; the
    # name sits under the AM, far from the date.
    date, am, name = line(871, 646, 208, 42), line(1212, 651, 48, 25), line(1184, 674, 86, 44)
    plate = line(360, 420, 118, 52)
    assert beside(am, date, ROW_REACH)  # along the time's row, a missed time away
    assert not beside(am, date)  # as far along another row is too far
    assert not beside(name, date, ROW_REACH)
    assert overlay_lines([plate, date, am, name], clocks=[1]) == {1, 2, 3}
    assert overlay_lines([plate, date, am, name], clocks=[]) == set()
