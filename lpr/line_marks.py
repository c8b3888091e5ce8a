"""What a line crop holds besides its characters, and where: the blue bands at a
plate's ends, stickers between its characters, a character the recogniser skipped.

The recogniser reads what it sees. An EU band's country code, a French
department's number, Germany's seals and a gap it stepped over all change the
text; these checks look at the crop's colour and ink to tell them apart from
characters, so the reader can cut a band off, fit a read without a sticker, or
not act on a read that is short of the plate.
"""

from __future__ import annotations

from itertools import pairwise

import cv2
import numpy as np

from lpr.recognise import LineRead

# How much more saturated (0-255) an added end must be than the plate's field to
# be taken for a coloured band rather than more plate.
BAND_SATURATION = 50.0
# How much more saturated than the plate the picture must be around a character
# for it to be a sticker: ink is black (or white on a blue Chinese plate), a
# seal's disc is orange, blue, green or pink.
STICKER_SATURATION = 60.0
# A coloured place holding at least this share of the ink of the read's other
# places is a character on a coloured ground (a specialty plate's picture, a
# Florida orange behind it), not a sticker: a seal's print is thin.
CHARACTER_INK = 0.5
# A gap between two places this many times the line's pitch has room for a
# character the recogniser skipped (it read AGE2154 as AE2154, a 6-character
# plate by one look-alike swap).
GAP_PITCHES = 1.6
# A patch of ink alone in a gap at least this share of the line's crop tall is a
# character (capitals fill about two thirds of it); a hyphen is a tenth.
SKIPPED_HEIGHT = 0.4


def _blue_columns(crop: np.ndarray) -> np.ndarray:
    """Per column, the share of pixels in the EU band's blue."""
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    hue, sat, val = hsv[:, :, 0], hsv[:, :, 1], hsv[:, :, 2]
    # OpenCV hue runs 0-180: the band's reflex blue sits about 105 to 125.
    blue = (hue >= 100) & (hue <= 130) & (sat >= 90) & (val >= 40)
    share: np.ndarray = blue.mean(axis=0)
    return share


def _band_end(share: np.ndarray) -> int:
    """Where a blue band that starts near the crop's left end gives way to the plate's
    field, in columns from that end; 0 where there is no band.

    The band starts within the first 15% (a box may take in some background, a widened
    one more) and ends within the first quarter. A dark column or two inside it (the
    plate's border line drawn over the band) does not end it.
    """
    w = share.shape[0]
    head = max(1, w * 3 // 20)
    starts = np.flatnonzero(share[:head] >= 0.5)
    if starts.size == 0:
        return 0
    start = int(starts[0])
    gap = max(2, w // 60)
    end, last = start, start
    while end < w and end - last <= gap:
        if share[end] >= 0.3:
            last = end
        end += 1
    end = last + 1
    if end - start < max(2, w // 30) or end > w // 4:
        return 0
    return end


def trim_band(crop: np.ndarray) -> np.ndarray:
    """The crop without a blue band at either end: the EU band on the left (its country
    code is no part of the registration) and the band some plates carry on the right
    (a French department's number, an Italian province or year), which would read as
    characters added to the plate. A plate blue all over (Chinese) is left whole."""
    share = _blue_columns(crop)
    w = share.shape[0]
    if w < 8 or np.median(share) > 0.3:
        return crop
    left = _band_end(share)
    right = _band_end(share[::-1])
    return crop[:, left : w - right]


def on_a_band(wide: np.ndarray, narrow: np.ndarray, left: bool) -> bool:
    """Whether the widened crop's added end is a coloured band (the EU country code).

    A European plate's blue band carries a country code ("D", "NL") that is no
    part of the registration. Its colour sets it apart from the plate's white
    or yellow field, which is how it is told from a clipped character.
    """
    w = wide.shape[1]
    extra = max(1, (w - narrow.shape[1]) // 2)
    end = wide[:, :extra] if left else wide[:, w - extra :]
    field_sat = float(np.median(cv2.cvtColor(narrow, cv2.COLOR_BGR2HSV)[:, :, 1]))
    # The mean, as the band may fill only part of the added end.
    end_sat = float(np.mean(cv2.cvtColor(end, cv2.COLOR_BGR2HSV)[:, :, 1]))
    return end_sat > field_sat + BAND_SATURATION


def _ink_mask(crop: np.ndarray) -> np.ndarray:
    """Per pixel of a line crop, whether it is ink: further from the plate's field (the
    median brightness: characters cover less than half a line) than halfway to the
    far twentieth, on whichever side the ink lies (dark on a light plate, light on a
    Chinese blue one). A split on the histogram alone (Otsu's) parts glare from the
    rest on a worn grey plate."""
    value = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)[:, :, 2].astype(np.float32)
    darkest, field, lightest = np.percentile(value, [5, 50, 95])
    if field - darkest >= lightest - field:
        mask: np.ndarray = value <= (field + darkest) / 2
    else:
        mask = value >= (field + lightest) / 2
    return mask


def _ink(crop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The middle rows of a line crop: the ink mask and the saturation."""
    h = crop.shape[0]
    band = crop[h // 5 : h - h // 5]
    sat = cv2.cvtColor(band, cv2.COLOR_BGR2HSV)[:, :, 1].astype(np.float32)
    return _ink_mask(band), sat


def _window(centre: float, pitch: float, w: int) -> slice:
    """The columns of a place: 0.3 of a pitch either side of its centre."""
    x0 = max(0, round((centre - pitch * 0.3) * w))
    return slice(x0, min(w, max(x0 + 1, round((centre + pitch * 0.3) * w))))


def sticker_place(crop: np.ndarray, read: LineRead) -> int | None:
    """The one place inside the read (not at an end) where the picture is coloured
    on a plate whose characters are not: a sticker the recogniser read as a
    character (Germany's inspection and state seals between district and letters,
    read as 8 or 0). None where no place, or more than one, stands out."""
    n = len(read.positions)
    if n < 3 or len(read.spans) != n:
        return None
    ink, sat = _ink(crop)
    field = float(np.median(sat))
    centres = [(a + b) / 2 for a, b in read.spans]
    pitch = (centres[-1] - centres[0]) / (n - 1)
    windows = [_window(c, pitch, crop.shape[1]) for c in centres]
    shares = [float(np.mean(ink[:, win])) for win in windows]
    coloured = [
        i
        for i in range(1, n - 1)
        if float(np.mean(sat[:, windows[i]])) > field + STICKER_SATURATION
    ]
    if len(coloured) != 1:
        return None
    place = coloured[0]
    others = float(np.median([s for i, s in enumerate(shares) if i != place]))
    if others > 0 and shares[place] >= CHARACTER_INK * others:
        return None
    return place


def wide_gaps(read: LineRead) -> list[tuple[float, float]]:
    """Where the read may have skipped a character: each gap between two places wider
    than the line's pitch allows, as (the left place's centre, the right one's) in
    shares of the crop's width."""
    n = len(read.positions)
    if n < 3 or len(read.spans) != n:
        return []
    centres = [(a + b) / 2 for a, b in read.spans]
    steps = [b - a for a, b in pairwise(centres)]
    pitch = float(np.median(steps))
    return [
        (a, b)
        for (a, b), step in zip(pairwise(centres), steps, strict=True)
        if pitch > 0 and step > GAP_PITCHES * pitch
    ]


def ink_between(crop: np.ndarray, gap: tuple[float, float]) -> bool:
    """Whether a character stands alone between two places: a patch of ink in the
    middle third of the gap, touching neither place, a good part of the crop's
    height tall. A hyphen or a dot is a short patch; a space or the room for seals
    has none. (The places' centres come from the recogniser's steps, which can be
    off by a narrow character's width: a 1 beside the gap can stand clear of its
    place's half, but not in the gap's middle.)"""
    w = crop.shape[1]
    x0, x1 = round(gap[0] * w), round(gap[1] * w)
    if x1 - x0 < 3:
        return False
    ink = _ink_mask(crop[:, x0:x1]).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    width = x1 - x0
    return any(
        stats[k, cv2.CC_STAT_LEFT] > 0
        and stats[k, cv2.CC_STAT_LEFT] + stats[k, cv2.CC_STAT_WIDTH] < width
        and width / 3
        <= stats[k, cv2.CC_STAT_LEFT] + stats[k, cv2.CC_STAT_WIDTH] / 2
        <= width * 2 / 3
        and stats[k, cv2.CC_STAT_HEIGHT] >= SKIPPED_HEIGHT * crop.shape[0]
        for k in range(1, count)
    )


def skipped_character(crop: np.ndarray, read: LineRead) -> bool:
    """Whether the recogniser skipped a character inside the read: a wide gap with a
    character's ink in it."""
    return any(ink_between(crop, gap) for gap in wide_gaps(read))
