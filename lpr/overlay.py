"""The text a camera burns into its pictures: the time, the date, the camera's name.

IP and CCTV cameras print their clock in a corner of every frame, often with a
name under or beside it ("CAM 03", "GATE-IN 1"). A name like that fits a plate
format as well as a plate does (German ``CAM14``), and the time with its AM or PM
fits a catch-all (``103003PM``). No plate has a time on it, though: a line read
with a clock's or a date's marks is the camera's, and so is a line of the same
size set right beside it.
"""

from __future__ import annotations

import re

from lpr.detect import TextLine
from lpr.recognise import LineRead

# A time (10:09, 10:09:06) or a date (10/16/2025, 20.07.2026, 2020-01-14), as
# cameras print them. Plates carry dashes and dots between letters and digits
# (AB-123-CD, 京A·12345), never three groups of digits in a date's shape.
CLOCK = re.compile(r"\d{1,2}:\d{2}")
DATE = re.compile(r"\d{1,4}[/.]\d{1,2}[/.]\d{2,4}|\d{4}-\d{1,2}-\d{1,2}")
# Lines of one overlay share a font: their heights differ by less than this factor.
SAME_SIZE = 1.7
# How far apart (in the taller line's heights) lines of one overlay sit: the next
# row under the time, or the next word along its row.
ROW_GAP = 1.0
WORD_GAP = 1.5


def shows_time(read: LineRead) -> bool:
    """Whether the read holds a time or a date, marks and all."""
    text = read.marked_text
    return CLOCK.search(text) is not None or DATE.search(text) is not None


def beside(line: TextLine, other: TextLine) -> bool:
    """Whether two lines sit like parts of one overlay: the same size, one right under
    the other or along the same row, nearly touching."""
    h, oh = line.size[1], other.size[1]
    if not 1 / SAME_SIZE < h / oh < SAME_SIZE:
        return False
    a, b = line.box(), other.box()
    gap_x = max(0, max(a.x, b.x) - min(a.x + a.w, b.x + b.w))
    gap_y = max(0, max(a.y, b.y) - min(a.y + a.h, b.y + b.h))
    tall = max(h, oh)
    return gap_x <= WORD_GAP * tall and gap_y <= ROW_GAP * tall
