"""The plate's look: Mercosur's blue band seen, its absence seen, and no evidence from
a grey frame or a strip off the frame."""

from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from lpr.detect import TextLine
from lpr.plate_look import in_colour, strip_above, top_band
from lpr.render import Style, render_plate


def _plate_in_frame(text: str, style: Style, angle: float = 0.0) -> tuple[np.ndarray, TextLine]:
    """A rendered plate on a blue-grey car, and its character line as the detector gives it."""
    plate = render_plate(text, style)
    frame = np.full((400, 700, 3), (150, 90, 60), np.uint8)  # a blue car body (BGR)
    frame[::7, :, 1] = 170  # a little texture, still blue-ish
    ph, pw = plate.shape[:2]
    y0, x0 = 150, 200
    frame[y0 : y0 + ph, x0 : x0 + pw] = plate
    size = style.char_height
    # render_plate puts the characters ``top`` px down: the band and its gap above them.
    top = size // 2 + int(size * 0.3) if style.top_band else size // 3 + size * 2 // 5 + size // 6
    centre = (x0 + pw / 2, y0 + top + size * 0.6)
    line = TextLine(centre, (pw * 0.8, size * 1.1), 0.0, 0.9)
    if angle:
        rot = cv2.getRotationMatrix2D(line.centre, angle, 1.0)
        frame = cv2.warpAffine(frame, rot, (700, 400), borderMode=cv2.BORDER_REPLICATE)
        line = TextLine(centre, line.size, -angle, 0.9)
    return frame, line


@pytest.mark.parametrize("angle", [0.0, 6.0])
def test_a_mercosur_band_is_seen(angle: float) -> None:
    frame, line = _plate_in_frame("ABC1D23", Style(colours="white", top_band="BRASIL"), angle)
    assert top_band(frame, line) is True


@pytest.mark.parametrize("angle", [0.0, 6.0])
def test_an_old_plate_on_a_blue_car_has_no_band(angle: float) -> None:
    frame, line = _plate_in_frame("ABC1234", Style(colours="grey", header="SP-SAO PAULO"), angle)
    assert top_band(frame, line) is False


def test_a_grey_frame_says_nothing() -> None:
    frame, line = _plate_in_frame("ABC1D23", Style(colours="white", top_band="BRASIL"))
    grey = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    assert not in_colour(grey)
    assert top_band(grey, line) is None
    assert top_band(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), line) is None


def test_a_strip_off_the_frame_says_nothing() -> None:
    frame, line = _plate_in_frame("ABC1D23", Style(colours="white", top_band="BRASIL"))
    high = TextLine((line.centre[0], 5.0), line.size, 0.0, 0.9)
    assert top_band(frame, high) is None


def test_the_strip_is_above_the_characters_whichever_way_the_line_turns() -> None:
    rng = random.Random(3)
    for _ in range(50):
        angle = rng.uniform(-30, 30)
        line = TextLine((300.0, 200.0), (200.0, 40.0), angle, 0.9)
        strip = strip_above(line)
        assert strip.centre[1] < line.centre[1]
        assert strip.size == (200.0, pytest.approx(12.0))


def test_a_band_the_line_box_took_in_is_seen() -> None:
    # The detector can take Mercosur's band in with the characters when it runs
    # close above them: the strip above the box is then the car's paint.
    frame, line = _plate_in_frame("ABC1D23", Style(colours="white", top_band="BRASIL"))
    purple = frame.copy()
    purple[:150] = (150, 40, 130)  # the car above the plate, saturated, not blue
    w, h = line.size
    size = 60
    band_top = 150 + size // 2 - int(size * 0.3)  # a little above the band's bottom edge
    bottom = line.centre[1] + h / 2
    tall = TextLine((line.centre[0], (band_top + bottom) / 2), (w, bottom - band_top), 0.0, 0.9)
    strip = strip_above(tall)
    assert strip.centre[1] < 150  # the strip is off the plate, on the paint
    assert top_band(purple, tall) is True


def test_no_band_is_only_said_of_the_plates_own_field() -> None:
    # An old plate's line box reaching up to the plate's top edge: the strip above
    # it is on the car's coloured paint, which shows no band but is no evidence.
    frame, line = _plate_in_frame("ABC1234", Style(colours="grey", header="SP-SAO PAULO"))
    purple = frame.copy()
    purple[:150] = (150, 40, 130)
    w, h = line.size
    top, bottom = 152.0, line.centre[1] + h / 2
    tall = TextLine((line.centre[0], (top + bottom) / 2), (w, bottom - top), 0.0, 0.9)
    assert top_band(purple, tall) is None
