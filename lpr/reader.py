"""Frame in, plate readings out: localise text lines, read them, keep what fits a plate format.

Flow: ``detect`` finds text lines on a downscaled copy of the frame; lines shaped
like plate text (and pairs stacked like a two-line plate) are cropped from the
full-resolution frame; ``recognise`` reads them in one batch; ``regions.fit``
keeps those that fit a format of the region and resolves look-alikes. When
nothing confident turns up, the detector looks again around each unsure reading
at full resolution, then over the whole frame at a higher resolution, for plates
too small for the first pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from lpr import sessions
from lpr.detect import TextLine, detect_lines
from lpr.line_marks import on_a_band, skipped_character, sticker_place, trim_band
from lpr.overlay import overlay_lines, shows_time
from lpr.plate_look import BAND_SHARE, blue_share, top_band
from lpr.recognise import AlphabetIndex, LineRead, crop_line, recognise
from lpr.regions import HELD_CONFIDENCE, Region, fit, get_region
from lpr.types import Box, Reading

# Pixels the detector sees on the first pass and on the second; its cost is about
# proportional to this (PP-OCRv6 small on 2 cores, fp32: ~55 ms at 123k pixels and
# ~230 ms at 520k on an idle machine; the int8 model takes a third to a quarter).
FAST_BUDGET = 480 * 272
FINE_BUDGET = 1024 * 576
# The confidence (``Reading.confidence``) a reading needs to be acted on. On the
# development photos every reading at or above it was right (the one exception
# is a mislabelled photo).
ACT_THRESHOLD = 0.90
MAX_LINES = 12
# Unsure readings looked at again, each in a close crop, before a full second pass.
ZOOM_MAX = 2
# At the detector's coarse scale a line's box can clip the first or last
# character, which the recogniser then drops without a trace ("PJK4867" read
# "JK4867", which is a valid German format). Each line is also read from a crop
# widened by this share of its height at both ends, and the wider read wins
# when it is the narrow one with characters added at the ends.
WIDEN = 0.35
MIN_TEXT_HEIGHT = 8.0
# The narrowest box of one or two characters taken as a row of a two-line plate
# (a 1 alone stands about 0.4 of its height wide).
SHORT_ROW_ASPECT = 0.4
# A line over one at least this much taller is the plate's header (a state's or a
# city's name, Mercosur's country) when it reads more than ``MAX_PREFIX`` characters.
HEADER_HEIGHT = 1.4
MAX_PREFIX = 3
# The confidence kept by a reading of a line stacked on a line of the same height
# when the two do not read as one two-line plate.
HALF_ROW_FACTOR = 0.5
# A line box at most this many heights wide per character read is taller than one
# row of the characters it holds: two rows detected as one, read as one row (about
# 0.15 to 0.24 per character). On rendered plates no single row read right came
# below 0.34 (a narrow font, skewed); the margin leaves room for narrower fonts.
MIN_ROW_ASPECT = 0.25
# A read this many characters (or more) shorter than the region's longest format
# may be one row of a two-line plate, or a line whose box clipped characters; it
# is looked at again in a close crop before it is acted on.
PART_ROOM = 2
# The line's height, in detector pixels, for that close look: enough to find a
# second row of the same height (which the first pass, at about a third of the
# frame's resolution, can miss), for a fraction of a full-resolution look.
CONFIRM_LINE_PX = 32.0
# A reading whose box comes this close to a close crop's side may run past it.
CROP_EDGE_PX = 2


@dataclass(frozen=True)
class ReaderSettings:
    region: str = "any"
    fast_budget: int = FAST_BUDGET
    fine_budget: int = FINE_BUDGET
    act_threshold: float = ACT_THRESHOLD
    threads: int = 2
    int8_detector: bool = True


def as_bgr(frame: np.ndarray) -> np.ndarray:
    """Three 8-bit channels, as the models take them."""
    if frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 1):
        out: np.ndarray = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        return out
    if frame.ndim == 3 and frame.shape[2] == 4:
        out = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
        return out
    return frame


def _plate_like(line: TextLine) -> bool:
    w, h = line.size
    return h >= MIN_TEXT_HEIGHT and 1.2 <= w / h <= 14.0


def _short_row(line: TextLine) -> bool:
    """A line too short to be a plate by itself but shaped like one or two characters:
    maybe a two-line plate's first row (a European square plate's "31" over "NXM2"),
    read only together with the row under or over it."""
    w, h = line.size
    return h >= MIN_TEXT_HEIGHT and SHORT_ROW_ASPECT <= w / h < 1.2


def _under_or_over(row: TextLine, lines: list[TextLine]) -> bool:
    """Whether a short row sits stacked on one of the plate-like lines."""
    return any(_stacked(row, ln) or _stacked(ln, row) for ln in lines)


def _header(line: TextLine, lines: list[TextLine]) -> bool:
    """Whether a taller line of characters sits right below ``line`` on the same plate:
    ``line`` is then a header (a US state's name, an old Brazilian plate's city, the
    country on Mercosur's band), not the registration. The rows of a two-line plate
    share a height, and a Chinese two-line plate's smaller top row reads with its
    bottom row as one plate before this is asked."""
    (x, y), (w, h) = line.centre, line.size
    for other in lines:
        (ox, oy), (ow, oh) = other.centre, other.size
        if oh >= HEADER_HEIGHT * h and 0 < oy - y < 2.0 * oh and abs(ox - x) < 0.5 * max(w, ow):
            return True
    return False


def _band_text(line: TextLine, crop: np.ndarray, lines: list[TextLine]) -> bool:
    """Whether ``line`` is the country's name on a band across the top of a plate
    (Mercosur's white "BRASIL" on blue), not a registration: white on blue, a header.
    A Chinese plate is blue all over, but nothing taller sits under its one line."""
    return blue_share(crop) >= BAND_SHARE and _header(line, lines)


def _stacked(top: TextLine, bottom: TextLine) -> bool:
    """Whether two lines sit like the rows of a two-line plate."""
    (tx, ty), (tw, th) = top.centre, top.size
    (bx, by), (bw, bh) = bottom.centre, bottom.size
    if not 0 < by - ty < 1.6 * max(th, bh):
        return False
    if not 0.4 < th / bh < 2.5:
        return False
    return abs(tx - bx) < 0.3 * max(tw, bw) and 0.3 < tw / bw < 3.0


def _header_row(top: TextLine, bottom: TextLine, read: LineRead) -> bool:
    """Whether a smaller line over a row of characters is a header (a state's name)
    rather than a plate's first row: a smaller top row holds only the plate's prefix
    (a Chinese province and authority letter, a number or two), never a word."""
    return bottom.size[1] >= HEADER_HEIGHT * top.size[1] and len(read.positions) > MAX_PREFIX


def _rows_in_one(line: TextLine, reading: Reading) -> bool:
    """Whether the line's box is too tall for the one row of characters read from it."""
    w, h = line.size
    return w / h / max(1, len(reading.text)) <= MIN_ROW_ASPECT


def _height_mismatch(a: TextLine, b: TextLine) -> float:
    return abs(math.log(a.size[1] / b.size[1]))


def _one_plate_a_row(paired: list[tuple[float, int, int, Reading]]) -> list[Reading]:
    """The two-line reads, each row in one of them only: a row that pairs both with the
    line over it and the one under it (a state's name over "04" over "2HZC", where a
    close look boxes the small name nearly as tall as the row) belongs to the pair
    whose rows share a height the most; the other join is no plate."""
    used: set[int] = set()
    kept = []
    for _, i, j, reading in sorted(paired, key=lambda p: p[0]):
        if i in used or j in used:
            continue
        used.update((i, j))
        kept.append(reading)
    return kept


def _same_height(a: TextLine, b: TextLine) -> bool:
    """Rows of one plate share a character height; a state name or city line is smaller."""
    return 0.6 < a.size[1] / b.size[1] < 1.7


def _extends(longer: str, shorter: str) -> bool:
    """Whether ``longer`` is ``shorter`` with characters added at its ends."""
    return len(longer) > len(shorter) and shorter in longer


def _recovers(narrow: str, wider: str, crop: np.ndarray, wide_crop: np.ndarray) -> bool:
    """Whether a line's widened crop reads characters its box clipped: the narrow read
    with characters added at its ends, not on a coloured band (the EU's country code).
    Compared as read, before the formats' swaps: a clipped end can make the narrow read
    fit another format by a look-alike (V145KF as Portuguese VI45KF, where the wide
    crop read JV145KF)."""
    if not _extends(wider, narrow):
        return False
    return not on_a_band(wide_crop, crop, left=wider.index(narrow) > 0)


def _held(reading: Reading) -> Reading:
    """The reading, never enough to act on by itself."""
    return replace(reading, confidence=min(reading.confidence, HELD_CONFIDENCE))


def _union(a: Box, b: Box) -> Box:
    x0, y0 = min(a.x, b.x), min(a.y, b.y)
    x1, y1 = max(a.x + a.w, b.x + b.w), max(a.y + a.h, b.y + b.h)
    return Box(x0, y0, x1 - x0, y1 - y0)


class PlateReader:
    """Reads plates in BGR frames. Loads the models once; not safe to share between threads."""

    def __init__(self, settings: ReaderSettings | None = None) -> None:
        self.settings = settings or ReaderSettings()
        self.region: Region = get_region(self.settings.region)
        self._sessions = sessions.load(self.settings.threads, self.settings.int8_detector)
        self._index = AlphabetIndex(self._sessions.vocabulary, self.region.alphabet)
        self._catch_alls = {f.name for f in self.region.formats if f.catch_all}
        self._longest = max(len(p) for f in self.region.formats for p in f.patterns)

    def warm_up(self) -> None:
        """One pass on a blank frame at each budget: onnxruntime sizes its buffers on the
        first run of a shape, which would otherwise land on the first real vehicle."""
        blank = np.full((720, 1280, 3), 127, np.uint8)
        self._pass(blank, self.settings.fast_budget)
        self._pass(blank, self.settings.fine_budget)

    def read(self, frame: np.ndarray) -> list[Reading]:
        """All plates found, the best fit first. ``frame`` is BGR, BGRA or grey (IR cameras)."""
        frame = as_bgr(frame)
        readings = self._pass(frame, self.settings.fast_budget)
        if self._confident(readings):
            return self._confirm_parts(frame, readings)
        if self.settings.fine_budget <= self.settings.fast_budget or self._settled(readings):
            return readings
        # Unsure reads: look again around each at up to full resolution first,
        # which costs a fraction of a second full pass.
        for unsure in readings[:ZOOM_MAX]:
            readings = _dedupe(readings + self._zoom(frame, unsure.box))
        if self._confident(readings):
            return self._confirm_parts(frame, readings)
        readings = _dedupe(readings + self._pass(frame, self.settings.fine_budget))
        if self._confident(readings):
            return self._confirm_parts(frame, readings)
        return readings

    def _confident(self, readings: list[Reading]) -> bool:
        return any(r.actionable(self.settings.act_threshold) for r in readings)

    def _settled(self, readings: list[Reading]) -> bool:
        """Whether a read is sure of every place but those held for a look-alike the
        formats cannot place: a second look reads the same glyph, so it is spared
        (unless the read may be part of a longer plate, which a closer look finds)."""
        threshold = self.settings.act_threshold
        return any(
            r.held
            and r.format_name is not None
            and not self.could_be_part(r)
            and min((c for i, c in enumerate(r.char_conf) if i not in r.held), default=0.0)
            >= threshold
            for r in readings
        )

    def could_be_part(self, reading: Reading) -> bool:
        """Whether the region's formats leave room for the read to be part of a longer
        plate: one row of a two-line plate, or a line whose box clipped its ends."""
        return len(reading.text) + PART_ROOM <= self._longest

    def _confirm_parts(self, frame: np.ndarray, readings: list[Reading]) -> list[Reading]:
        """Actionable reads that may be part of a longer plate, looked at again at full
        resolution around them: a longer reading found there (the plate's other row,
        the clipped characters) replaces the part (``_dedupe``), and a stacked
        same-height row that does not read as one plate with it holds it back. A
        two-line read already has both rows: looked at closer, its box (two rows
        tall) was scaled as one row's and read less surely, or joined the state's
        name over it as a plate ("TEXAS" over "04" over "2HZC")."""
        parts = [
            r
            for r in readings[:ZOOM_MAX]
            if r.actionable(self.settings.act_threshold) and self.could_be_part(r) and r.rows == 1
        ]
        for part in parts:
            closer = self._zoom(frame, part.box, CONFIRM_LINE_PX)
            # The same text read closer with less confidence (its row stacked on a
            # row it does not read with) is the verdict that counts.
            doubt = [
                z.confidence for z in closer if z.text == part.text and z.box.iou(part.box) >= 0.3
            ]
            if doubt and min(doubt) < part.confidence:
                held = replace(part, confidence=min(doubt))
                readings = [held if r is part else r for r in readings]
            readings = _dedupe(readings + closer)
        return readings

    def _zoom(
        self, frame: np.ndarray, box: Box, line_px: float = 0.0, *, again: bool = True
    ) -> list[Reading]:
        """Readings in a close crop around ``box``, at full resolution or, with
        ``line_px``, scaled so the box's line stands about that many pixels tall.

        The crop is laid around what was read unsure, which can be part of the plate
        (a bar over its left end read as ``N7943``): a reading that runs into the
        crop's side where the frame goes on may have lost characters to the crop
        (``HHW7943`` of ``蒙HHW7943``, sure of itself), so it is read again in a crop
        laid around it instead."""
        fh, fw = frame.shape[:2]
        x0, x1 = max(0, box.x - box.w // 2), min(fw, box.x + box.w + box.w // 2)
        y0, y1 = max(0, box.y - box.h * 3 // 2), min(fh, box.y + box.h + box.h * 3 // 2)
        if x1 - x0 < 16 or y1 - y0 < 16:
            return []
        part = frame[y0:y1, x0:x1]
        budget = min(self.settings.fine_budget, part.shape[0] * part.shape[1])
        if line_px > 0:
            budget = min(budget, round(budget * (line_px / max(1, box.h)) ** 2))
        found = [
            replace(r, box=Box(r.box.x + x0, r.box.y + y0, r.box.w, r.box.h))
            for r in self._pass(part, budget)
        ]
        if not again:
            return found

        def cut(r: Reading) -> bool:
            left = x0 > 0 and r.box.x <= x0 + CROP_EDGE_PX
            right = x1 < fw and r.box.x + r.box.w >= x1 - CROP_EDGE_PX
            return left or right

        out = [r for r in found if not cut(r)]
        for r in [r for r in found if cut(r)][:ZOOM_MAX]:
            out += self._zoom(frame, r.box, line_px, again=False)
        return out

    def _pass(self, frame: np.ndarray, budget: int) -> list[Reading]:
        found_lines = detect_lines(self._sessions.detector, frame, budget)
        by_size = sorted(
            found_lines, key=lambda ln: ln.score * ln.size[0] * ln.size[1], reverse=True
        )
        lines = [ln for ln in by_size if _plate_like(ln)][:MAX_LINES]
        raw = [crop_line(frame, ln.corners()) for ln in lines]
        kept = [i for i, ln in enumerate(lines) if not _band_text(ln, raw[i], lines)]
        lines, raw = [lines[i] for i in kept], [raw[i] for i in kept]
        short = [ln for ln in by_size if _short_row(ln) and _under_or_over(ln, lines)][:MAX_LINES]
        crops = [trim_band(crop) for crop in raw]
        wide = [trim_band(crop_line(frame, ln.widened(WIDEN).corners())) for ln in lines]
        short_crops = [crop_line(frame, ln.corners()) for ln in short]
        every = recognise(self._sessions.recogniser, self._index, crops + wide + short_crops)
        n = len(lines)
        reads = every[:n]
        wide_reads = every[n : 2 * n]
        # Short rows join the pairing after the plate-like lines; they are never
        # read alone.
        rows = lines + short
        row_reads = reads + every[2 * n :]
        # The camera's clock burnt into the picture is no plate, and a name printed
        # beside it ("CAM 03", "GATE-IN 1") is the camera's too, however well it fits.
        clocks = [k for k in range(n) if shows_time(reads[k]) or shows_time(wide_reads[k])]
        overlay = overlay_lines(rows, clocks)
        found: list[Reading] = []
        in_pairs: set[int] = set()
        half_rows: set[int] = set()
        paired: list[tuple[float, int, int, Reading]] = []  # (height mismatch, top, bottom, read)
        for i, top in enumerate(rows):
            for j, bottom in enumerate(rows):
                if (i >= n and j >= n) or i in clocks or j in clocks:
                    continue
                if i != j and _stacked(top, bottom) and not _header_row(top, bottom, row_reads[i]):
                    box = _union(top.box(), bottom.box())
                    band = top_band(frame, top)
                    # The rows of a two-line plate must fit a format whole.
                    reading = self._to_reading(
                        LineRead(row_reads[i].positions + row_reads[j].positions),
                        box,
                        allow_drop=False,
                        top_band=band,
                    )
                    wider_rows = [
                        wide_reads[k]
                        if k < n and _recovers(reads[k].text, wide_reads[k].text, crops[k], wide[k])
                        else None
                        for k in (i, j)
                    ]
                    if reading is not None and any(wider_rows):
                        # A row's box clipped an end character (JS9 over 6417, the 6
                        # cut off, read JS9417): the rows as the widened crops read
                        # them, if they fit a listed format; if not, the clipped read is
                        # held.
                        top_read, bottom_read = (
                            w or row_reads[k] for w, k in zip(wider_rows, (i, j), strict=True)
                        )
                        whole = self._to_reading(
                            LineRead(top_read.positions + bottom_read.positions),
                            box,
                            allow_drop=False,
                            top_band=band,
                        )
                        if whole is not None and self._catch_all(whole):
                            whole = None  # what the widened rows add makes no listed plate
                        reading = whole or _held(reading)
                    if reading is not None and (i in overlay or j in overlay):
                        reading = _held(reading)
                    if reading is not None:
                        reading = replace(reading, rows=2)
                        paired.append((_height_mismatch(top, bottom), i, j, reading))
                        in_pairs.update((i, j))
                    elif _same_height(top, bottom):
                        half_rows.update((i, j))
        found += _one_plate_a_row(paired)
        for i, (line, read) in enumerate(zip(lines, reads, strict=True)):
            if i in in_pairs or i in clocks:
                continue
            band = top_band(frame, line)
            # A box that clips an end character's stroke changes the character
            # rather than dropping it (the foot of an L cut off reads as a sure I):
            # where the widened crop reads as many characters, both looks count.
            narrow = self._to_reading(
                read.averaged(wide_reads[i]),
                line.box(),
                top_band=band,
                sticker=sticker_place(crops[i], read),
            )
            wider = self._to_reading(
                wide_reads[i],
                line.widened(WIDEN).box(),
                top_band=band,
                sticker=sticker_place(wide[i], wide_reads[i]),
            )
            reading = self._narrow_or_wide(narrow, wider, crops[i], wide[i])
            if reading is not None and skipped_character(
                *((wide[i], wide_reads[i]) if reading is wider else (crops[i], read))
            ):
                # The text read is short of the plate's: never enough to act on.
                reading = _held(reading)
            if reading is not None and (
                i in half_rows or _rows_in_one(line, reading) or _header(line, lines)
            ):
                # Maybe one row of a two-line plate whose other row was misread, or
                # not seen, or a header that fits a format by look-alikes ("Florida"
                # as FLORI04): never enough to act on by itself.
                reading = replace(reading, confidence=reading.confidence * HALF_ROW_FACTOR)
            if reading is not None and i in overlay:
                reading = _held(reading)
            if reading is not None:
                found.append(reading)
        return _dedupe(found)

    def _narrow_or_wide(
        self,
        narrow: Reading | None,
        wider: Reading | None,
        narrow_crop: np.ndarray,
        wide_crop: np.ndarray,
    ) -> Reading | None:
        """The wider crop's read where it recovers characters the narrow box clipped."""
        if narrow is None and wider is not None and self._catch_all(wider):
            # The boxed line read as no plate, and what the widened crop adds makes
            # only a catch-all: a validation sticker's digit beside the last character
            # (129IIB read 12911B8) or a Chinese plate without its province character
            # (湘Y345002 read Y345002) fits one as well as a plate does. A closer look
            # may read it whole; this read alone is not acted on.
            return _held(wider)
        if wider is None or narrow is None:
            return narrow or wider
        if self._catch_all(wider) and not self._catch_all(narrow):
            return narrow
        # More look-alike swaps to make the longer text fit is no recovery.
        if len(wider.corrected) > len(narrow.corrected):
            return narrow
        return (
            wider if _recovers(narrow.raw_text, wider.raw_text, narrow_crop, wide_crop) else narrow
        )

    def _catch_all(self, reading: Reading) -> bool:
        return reading.format_name in self._catch_alls

    def _to_reading(
        self,
        read: LineRead,
        box: Box,
        *,
        allow_drop: bool = True,
        top_band: bool | None = None,
        sticker: int | None = None,
    ) -> Reading | None:
        if len(read.positions) < 4:
            return None
        fitted = fit(
            read.positions, self.region, allow_drop=allow_drop, top_band=top_band, sticker=sticker
        )
        if fitted is None:
            return None
        return Reading(
            text=fitted.text,
            box=box,
            char_conf=fitted.char_conf,
            confidence=min(fitted.char_conf) * fitted.share,
            format_name=fitted.format_name,
            corrected=fitted.corrected,
            raw_text=read.text,
            score=fitted.score,
            held=fitted.held,
            margin=fitted.margin,
        )


def _dedupe(readings: list[Reading]) -> list[Reading]:
    """One reading per place in the frame: overlapping ones keep the best fit.

    A fragment of an overlapping longer reading (one row of a two-line plate, or a
    line a coarse box clipped, read alone in another pass) gives way to the longer
    reading, which is acted on only on its own confidence.
    """
    kept: list[Reading] = []
    for reading in sorted(readings, key=lambda r: r.score, reverse=True):
        clashes = [i for i, k in enumerate(kept) if reading.box.iou(k.box) >= 0.3]
        if not clashes:
            kept.append(reading)
            continue
        fragments = [i for i in clashes if _extends(reading.text, kept[i].text)]
        if fragments:
            kept[fragments[0]] = reading
            for i in reversed(fragments[1:]):
                del kept[i]
    return kept
