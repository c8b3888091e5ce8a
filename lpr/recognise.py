"""Character recognition on a cropped line: the CTC recogniser, reduced to a plate alphabet.

The recogniser scores ~18,700 symbols per time step. A plate needs only its
region's alphabet, so each step is reduced to three groups: blank, a plate
character (lower-case folded into upper-case), or anything else (a dash, a dot, a
seal: a separator). Consecutive steps of the same character form one position,
and each position keeps its best few characters with their probabilities for the
format fit in ``lpr.regions``. Of the separators, the marks a clock or a date is
written with (``:`` ``/`` ``.`` ``-``) are kept with the place they stand at: no plate
has a time on it, and a camera burns its time into the picture (``lpr.overlay``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import onnxruntime as ort

from lpr.regions import VARIANTS

REC_HEIGHT = 48
# Full-width forms (Ａ, ０) sit at a fixed offset from ASCII.
FULLWIDTH_OFFSET = 0xFEE0
MAX_WIDTH = 480
TOP_K = 6
# The separators kept, each with its full-width form; a step is taken for one where
# it holds most of what is neither a plate character nor blank.
MARKS = {":": "：", "/": "／", ".": "．", "-": "－"}


@dataclass(frozen=True)
class LineRead:
    """A recognised line: one score map per character position, best character first."""

    positions: tuple[dict[str, float], ...]
    # Where each position sits along the crop, as shares of its width (from, to):
    # the time steps of its run. Empty where not known (two rows joined, a test's
    # hand-made read).
    spans: tuple[tuple[float, float], ...] = ()
    # The clock and date marks read between characters: (the position after the
    # mark, the mark). Empty where not known, as ``spans``.
    marks: tuple[tuple[int, str], ...] = ()

    @property
    def text(self) -> str:
        return "".join(max(p, key=lambda c: p[c]) for p in self.positions)

    @property
    def marked_text(self) -> str:
        """The text with the clock and date marks where they were read ("10:09:06PM")."""
        best = [max(p, key=lambda c: p[c]) for p in self.positions]
        for place, mark in sorted(self.marks, reverse=True):
            best.insert(place, mark)
        return "".join(best)

    def averaged(self, other: LineRead) -> LineRead:
        """Two reads of one line that disagree, position by position, as the mean of
        their scores: where they disagree, neither is sure. Reads that agree, or of
        different lengths (which do not align), keep ``self``."""
        if len(other.positions) != len(self.positions) or other.text == self.text:
            return self
        return LineRead(
            tuple(
                {c: (a.get(c, 0.0) + b.get(c, 0.0)) / 2 for c in a.keys() | b.keys()}
                for a, b in zip(self.positions, other.positions, strict=True)
            ),
            self.spans,
            self.marks,
        )


class AlphabetIndex:
    """Maps the recogniser's vocabulary onto a plate alphabet."""

    def __init__(self, vocabulary: Sequence[str], alphabet: str) -> None:
        self.alphabet = alphabet
        where = {sym: i for i, sym in enumerate(vocabulary) if sym}
        columns: list[list[int]] = []
        for ch in alphabet:
            spellings = {ch, ch.lower(), VARIANTS.get(ch, ch)}
            if ch.isascii():
                spellings.add(chr(ord(ch) + FULLWIDTH_OFFSET))
            cols = [where[v] for v in spellings if v in where]
            columns.append(cols)
        width = max(len(c) for c in columns)
        # Padded with column 0 and a mask, so the reduction is one vectorised gather.
        self._cols = np.array([c + [0] * (width - len(c)) for c in columns], dtype=np.int64)
        self._mask = np.array([[1.0] * len(c) + [0.0] * (width - len(c)) for c in columns])
        self.marks = "".join(m for m, wide in MARKS.items() if m in where or wide in where)
        mark_cols = [[where[v] for v in (m, MARKS[m]) if v in where] for m in self.marks]
        self._mark_cols = np.array([c + [0] * (2 - len(c)) for c in mark_cols], dtype=np.int64)
        self._mark_mask = np.array([[1.0] * len(c) + [0.0] * (2 - len(c)) for c in mark_cols])

    def reduce(self, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per time step: P(each alphabet character) and P(blank)."""
        chars = (probs[:, self._cols] * self._mask).sum(axis=2)
        return chars, probs[:, 0]

    def reduce_marks(self, probs: np.ndarray) -> np.ndarray:
        """Per time step: P(each of ``marks``)."""
        if not self.marks:
            return np.zeros((probs.shape[0], 0))
        out: np.ndarray = (probs[:, self._mark_cols] * self._mark_mask).sum(axis=2)
        return out


def crop_line(frame: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """The line's rotated rectangle warped upright, at most REC_HEIGHT * 2 px tall."""
    pts = corners.astype(np.float32)
    s = pts.sum(axis=1)
    d = np.diff(pts, axis=1).ravel()
    tl, br = pts[np.argmin(s)], pts[np.argmax(s)]
    tr, bl = pts[np.argmin(d)], pts[np.argmax(d)]
    width = max(float(np.linalg.norm(tr - tl)), float(np.linalg.norm(br - bl)))
    height = max(float(np.linalg.norm(bl - tl)), float(np.linalg.norm(br - tr)))
    scale = min(1.0, 2 * REC_HEIGHT / max(height, 1.0))
    w, h = max(8, round(width * scale)), max(8, round(height * scale))
    src = np.array([tl, tr, br, bl], dtype=np.float32)
    dst = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    out: np.ndarray = cv2.warpPerspective(
        frame, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return out


def _width(crop: np.ndarray) -> int:
    """The crop's width in the recogniser's input, scaled to its height."""
    height, width = int(crop.shape[0]), int(crop.shape[1])
    return min(MAX_WIDTH, max(16, round(REC_HEIGHT * width / height)))


def _prepare(crops: Sequence[np.ndarray]) -> np.ndarray:
    widths = [_width(c) for c in crops]
    batch_w = max(max(widths), 8 * REC_HEIGHT // 3)
    batch = np.zeros((len(crops), 3, REC_HEIGHT, batch_w), dtype=np.float32)
    for i, (crop, w) in enumerate(zip(crops, widths, strict=True)):
        img = cv2.resize(crop, (w, REC_HEIGHT), interpolation=cv2.INTER_LINEAR)
        batch[i, :, :, :w] = img.astype(np.float32).transpose(2, 0, 1) * (2.0 / 255.0) - 1.0
    return batch


def decode(
    chars: np.ndarray,
    blank: np.ndarray,
    alphabet: str,
    used: float = 1.0,
    marks: np.ndarray | None = None,
    mark_symbols: str = "",
) -> LineRead:
    """Greedy CTC over three groups (blank, plate character, other). ``used`` is the
    share of the time steps the crop fills (the rest is the batch's padding);
    ``marks`` (per step, P of each of ``mark_symbols``) tells which separators were
    clock or date marks."""
    other = np.clip(1.0 - chars.sum(axis=1) - blank, 0.0, None)
    best_char = chars.argmax(axis=1)
    char_total = chars.sum(axis=1)
    rows: list[np.ndarray] = []
    steps: list[list[int]] = []
    found_marks: list[tuple[int, str]] = []
    current = -1
    for t in range(chars.shape[0]):
        if char_total[t] < blank[t] or char_total[t] < other[t]:
            if other[t] > blank[t] and marks is not None and marks.shape[1]:
                m = int(marks[t].argmax())
                place = (len(rows), mark_symbols[m])
                if marks[t, m] > other[t] / 2 and (not found_marks or found_marks[-1] != place):
                    found_marks.append(place)
            current = -1
            continue
        idx = int(best_char[t])
        if idx == current:
            # One character spans several steps: keep each symbol's best step.
            np.maximum(rows[-1], chars[t], out=rows[-1])
            steps[-1][1] = t
            continue
        rows.append(chars[t].copy())
        steps.append([t, t])
        current = idx
    positions: list[dict[str, float]] = []
    for row in rows:
        top = np.argsort(row)[::-1][:TOP_K]
        positions.append({alphabet[i]: float(row[i]) for i in top})
    per_step = 1.0 / (max(1, chars.shape[0]) * max(used, 1e-6))
    spans = tuple((min(1.0, a * per_step), min(1.0, (b + 1) * per_step)) for a, b in steps)
    return LineRead(tuple(positions), spans, tuple(found_marks))


def recognise(
    session: ort.InferenceSession, index: AlphabetIndex, crops: Sequence[np.ndarray]
) -> list[LineRead]:
    if not crops:
        return []
    batch = _prepare(crops)
    probs = session.run(None, {"x": batch})[0]
    reads: list[LineRead] = []
    for i, crop in enumerate(crops):
        chars, blank = index.reduce(probs[i])
        used = _width(crop) / batch.shape[3]
        marks = index.reduce_marks(probs[i])
        reads.append(decode(chars, blank, index.alphabet, used, marks, index.marks))
    return reads
