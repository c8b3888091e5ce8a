"""The records that flow out of the reader: immutable, plain data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in frame pixels."""

    x: int
    y: int
    w: int
    h: int

    def iou(self, other: Box) -> float:
        x1, y1 = max(self.x, other.x), max(self.y, other.y)
        x2 = min(self.x + self.w, other.x + other.w)
        y2 = min(self.y + self.h, other.y + other.h)
        inter = max(0, x2 - x1) * max(0, y2 - y1)
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union > 0 else 0.0

    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2


@dataclass(frozen=True)
class Reading:
    """One plate read in one frame.

    ``confidence`` is the lowest per-character confidence (one doubtful character
    makes the plate doubtful) times the text's share among the readings the region's
    formats allow (two formats reading it differently make it doubtful too).
    """

    text: str
    box: Box
    char_conf: tuple[float, ...]
    confidence: float
    format_name: str | None
    corrected: tuple[int, ...] = ()
    raw_text: str = ""
    score: float = 0.0  # the format fit's score: ranks readings of one frame
    # Places where another format of the region reads a look-alike and the glyph did
    # not settle which (``lpr.regions.MIN_GLYPH_MARGIN``): their confidence is capped.
    held: tuple[int, ...] = ()
    # The glyph's smallest margin at a place where the formats disagree (infinite
    # where none does): what ``lpr.calibrate`` weighs against the reads that were wrong.
    margin: float = float("inf")
    rows: int = 1  # rows of characters read together: 2 for a two-line plate

    def actionable(self, threshold: float) -> bool:
        return self.format_name is not None and self.confidence >= threshold
