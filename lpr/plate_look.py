"""What a plate looks like beyond its characters: whether a coloured band runs across
its top.

A Mercosur plate (Brazil since 2018, Argentina, Uruguay, Paraguay) carries a blue
band with the country's name right above the registration; the Brazilian plates
before it carry a grey strip with the city's name in dark letters. Where the two
formats disagree about a character (the fifth: a digit on the old plate, a letter
on Mercosur), the band tells which plate it is, whatever the glyph looks like.

The look is only evidence where the camera sees colour: an infrared night camera
gives grey frames, and a grey frame says nothing (``None``), so a held read stays
held there.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from lpr.detect import TextLine
from lpr.recognise import crop_line

# The strip looked at, in character heights above the characters: 0.2 to 0.5. On a
# Mercosur plate (400 x 130 mm, characters 63 mm tall) the blue band, about 30 mm
# deep, runs from about 0.3 to 0.75 above the characters; the old plate's top
# edge is about 0.5 above them, its city strip in between. The strip stays on the
# plate for both, off the car's paint above it.
STRIP_HEIGHT = 0.3
STRIP_GAP = 0.2
# OpenCV hue runs 0-180: Mercosur's band is a reflex blue, about 105 to 125.
BLUE_HUE = (100, 130)
MIN_SATURATION = 90
MIN_VALUE = 40
# A band fills most of the strip even with a little skew; "no band" must be nearly
# no blue at all, so a band half in shadow is never taken for its absence.
BAND_SHARE = 0.35
NO_BAND_SHARE = 0.03
# The band taken into the line's box: rows of its top quarter at least half blue,
# at least this many of them and this share of the line's height (the band is
# about half a character deep; a blue car's paint at the very edge is a row or two).
BAND_ROW_SHARE = 0.5
BAND_MIN_ROWS = 3
BAND_ROWS_OF_HEIGHT = 0.06
# The plate's field is grey or white: most of the strip above the characters is
# below this saturation (0-255) on an old plate; a car's coloured paint is above.
FIELD_SATURATION = 60
# A frame is in colour when this share of its pixels is clearly saturated (an
# infrared or monochrome camera stays below it).
COLOUR_SHARE = 0.02
COLOUR_SATURATION = 40


def strip_above(line: TextLine) -> TextLine:
    """The rectangle just above ``line``'s characters, the line's width, turned as it is."""
    w, h = line.size
    a = math.radians(line.angle)
    nx, ny = -math.sin(a), math.cos(a)  # the line's normal, one of its two senses
    if ny > 0:  # image y grows downwards: "above" is the sense with negative y
        nx, ny = -nx, -ny
    offset = h / 2 + STRIP_GAP * h + STRIP_HEIGHT * h / 2
    cx, cy = line.centre
    return TextLine((cx + nx * offset, cy + ny * offset), (w, STRIP_HEIGHT * h), line.angle, 0.0)


def _blue(crop: np.ndarray) -> np.ndarray:
    """Per pixel, whether it is the band's blue."""
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    hue, sat, val = hsv[:, :, 0], hsv[:, :, 1], hsv[:, :, 2]
    blue: np.ndarray = (hue >= BLUE_HUE[0]) & (hue <= BLUE_HUE[1])
    blue &= (sat >= MIN_SATURATION) & (val >= MIN_VALUE)
    return blue


def blue_share(crop: np.ndarray) -> float:
    return float(_blue(crop).mean())


def in_colour(frame: np.ndarray) -> bool:
    """Whether the camera sees colour (a grey frame, or an infrared one, does not)."""
    if frame.ndim < 3 or frame.shape[2] < 3:
        return False
    small = frame[::8, ::8]
    sat = cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_BGR2HSV)[:, :, 1]
    return float((sat >= COLOUR_SATURATION).mean()) >= COLOUR_SHARE


def _band_inside(crop: np.ndarray) -> bool:
    """Whether the line's own box starts with rows of the band: the detector can take
    the band in with the characters when it runs close above them."""
    rows = _blue(crop[: max(1, crop.shape[0] // 4)])
    banded = int((rows.mean(axis=1) >= BAND_ROW_SHARE).sum())
    return banded >= max(BAND_MIN_ROWS, round(BAND_ROWS_OF_HEIGHT * int(crop.shape[0])))


def _plate_field(strip: np.ndarray) -> bool:
    """Whether the strip is the plate's own unsaturated field (grey, white): the old
    plate's city strip, not the car's paint above a plate whose band the line's box
    took in."""
    sat = cv2.cvtColor(strip, cv2.COLOR_BGR2HSV)[:, :, 1]
    # The median, as the city's name on the strip may be printed in colour.
    return float(np.median(sat)) < FIELD_SATURATION


def top_band(frame: np.ndarray, line: TextLine) -> bool | None:
    """True when a blue band runs across the top of the plate whose characters are
    ``line``, False when the frame is in colour and there is clearly none (the plate's
    plain field above the characters), None when the frame cannot tell (grey, the
    strip off the frame or on coloured paint, a share in between)."""
    strip = strip_above(line)
    fh, fw = frame.shape[:2]
    corners = strip.corners()
    if corners.min() < 0 or corners[:, 0].max() >= fw or corners[:, 1].max() >= fh:
        return None
    if not in_colour(frame):
        return None
    if _band_inside(crop_line(frame, line.corners())):
        return True
    above = crop_line(frame, corners)
    share = blue_share(above)
    if share >= BAND_SHARE:
        return True
    if share <= NO_BAND_SHARE and _plate_field(above):
        return False
    return None
