"""The text a camera burns into its pictures: the time, the date, the camera's name.

IP and CCTV cameras print their clock in a corner of every frame, often with a
name under or beside it ("CAM 03", "GATE-IN 1"). A name like that fits a plate
format as well as a plate does (German ``CAM14``), and the time with its AM or PM
fits a catch-all (``103003PM``). No plate has a time on it, though: a line read
with a clock's or a date's marks is the camera's, and so is a line of the same
size set right beside it, and one beside that (the detector can miss the time
between the date and its AM, and the name sits under the AM).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lpr.detect import TextLine
from lpr.recognise import LineRead

# A time (10:09, 10:09:06) or a date (10/16/2025, 20.07.2026, 2020-01-14), as
# cameras print them. Plates carry dashes and dots between letters and digits
# (AB-123-CD, 京A·12345), never three groups of digits in a date's shape.
CLOCK = re.compile(r"\d{1,2}:\d{2}")
DATE = re.compile(r"\d{1,4}[/.]\d{1,2}[/.]\d{2,4}|\d{4}-\d{1,2}-\d{1,2}")
# Lines of one overlay share a font, but the detector boxes them a little apart:
# it boxed an ``AM`` 25 pixels tall beside a ``CH13`` 44 tall under it.
SAME_SIZE = 2.0
# How far apart (in the taller line's heights) lines of one overlay sit: the next
# row under the time, or the next word along its row. A camera sets its rows
# close, and the detector pads their boxes until they touch; a plate's line just
# above or below the time in the picture has room between (0.56 heights, where
# the rule at 1.0 held plates the overlay had not touched).
ROW_GAP = 0.25
WORD_GAP = 1.5
# Along the time's own row the words may sit further apart, where the detector
# missed one between them (a time of day is about five heights long).
ROW_REACH = 6.0


def shows_time(read: LineRead) -> bool:
    """Whether the read holds a time or a date, marks and all."""
    text = read.marked_text
    return CLOCK.search(text) is not None or DATE.search(text) is not None


def beside(line: TextLine, other: TextLine, reach: float = WORD_GAP) -> bool:
    """Whether two lines sit like parts of one overlay: the same size, one right under
    the other, or along the same row at most ``reach`` heights apart."""
    h, oh = line.size[1], other.size[1]
    if not 1 / SAME_SIZE < h / oh < SAME_SIZE:
        return False
    a, b = line.box(), other.box()
    gap_x = max(0, max(a.x, b.x) - min(a.x + a.w, b.x + b.w))
    gap_y = max(0, max(a.y, b.y) - min(a.y + a.h, b.y + b.h))
    tall = max(h, oh)
    if abs(line.centre[1] - other.centre[1]) < tall / 2:  # along one row
        return gap_x <= reach * tall
    return gap_x <= WORD_GAP * tall and gap_y <= ROW_GAP * tall


def overlay_lines(lines: Sequence[TextLine], clocks: Sequence[int]) -> set[int]:
    """The lines of the camera's overlay: those with a time or a date (``clocks``), and
    every line beside one of them, or beside one of those, and so on."""
    found = set(clocks)
    frontier = list(clocks)
    while frontier:
        k = frontier.pop()
        reach = ROW_REACH if k in clocks else WORD_GAP
        for i, line in enumerate(lines):
            if i not in found and beside(line, lines[k], reach):
                found.add(i)
                frontier.append(i)
    return found
