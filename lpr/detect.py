"""Text-line localisation: the DB detector on a downscaled frame, boxes back in frame pixels.

A plate is a short, wide line of text. The detector runs on a copy of the frame
scaled to a pixel budget (its cost grows with the area), and every line it finds
comes back as a rotated rectangle in full-frame coordinates, so the recogniser
can crop from the full-resolution frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import onnxruntime as ort

from lpr.types import Box

# DB post-processing as PaddleOCR tunes it for PP-OCR models.
BIN_THRESHOLD = 0.3
BOX_THRESHOLD = 0.5
UNCLIP_RATIO = 1.6
MIN_SIDE = 3
PAD_ALONG = 0.0


@dataclass(frozen=True)
class TextLine:
    """A detected line: its rotated rectangle (centre, size, angle) and the detector's score."""

    centre: tuple[float, float]
    size: tuple[float, float]  # width along the text, height across it
    angle: float  # degrees, OpenCV's minAreaRect convention normalised so width >= height
    score: float

    def widened(self, share: float) -> TextLine:
        """The same line extended along its length by ``share`` of its height at each end."""
        w, h = self.size
        return TextLine(self.centre, (w + 2 * share * h, h), self.angle, self.score)

    def corners(self) -> np.ndarray:
        pts: np.ndarray = cv2.boxPoints((self.centre, self.size, self.angle))
        return pts

    def box(self) -> Box:
        pts = self.corners()
        x0, y0 = np.floor(pts.min(axis=0))
        x1, y1 = np.ceil(pts.max(axis=0))
        return Box(int(x0), int(y0), int(x1 - x0), int(y1 - y0))


def _input_size(h: int, w: int, budget: int) -> tuple[int, int]:
    scale = min(1.0, math.sqrt(budget / float(h * w)))
    nh = max(32, round(h * scale / 32) * 32)
    nw = max(32, round(w * scale / 32) * 32)
    return nh, nw


def preprocess(frame: np.ndarray, budget: int) -> tuple[np.ndarray, float, float]:
    """The detector's input for ``frame`` and the x, y scale back to the frame."""
    h, w = frame.shape[:2]
    nh, nw = _input_size(h, w, budget)
    small = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA)
    x = small.astype(np.float32) * (2.0 / 255.0) - 1.0
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None]), w / nw, h / nh


def probability_map(
    session: ort.InferenceSession, frame: np.ndarray, budget: int
) -> tuple[np.ndarray, float, float]:
    """The detector's text probability map and the x, y scale back to the frame."""
    x, sx, sy = preprocess(frame, budget)
    out = session.run(None, {"x": x})[0]
    prob: np.ndarray = out[0, 0]
    return prob, sx, sy


def lines_from_map(prob: np.ndarray, sx: float, sy: float) -> list[TextLine]:
    binary = (prob > BIN_THRESHOLD).astype(np.uint8)
    mask: np.ndarray = cv2.dilate(binary, np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    lines: list[TextLine] = []
    for contour in contours:
        if len(contour) < 4:
            continue
        x, y, bw, bh = cv2.boundingRect(contour)
        score = float(prob[y : y + bh, x : x + bw][mask[y : y + bh, x : x + bw] > 0].mean())
        if score < BOX_THRESHOLD:
            continue
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        if min(rw, rh) < MIN_SIDE:
            continue
        # DB predicts a shrunk text kernel; grow it back by area * ratio / perimeter.
        grow = rw * rh * UNCLIP_RATIO / (2 * (rw + rh))
        rw, rh = rw + 2 * grow, rh + 2 * grow
        # At the detector's coarse scale the end characters are easily clipped; a
        # little more room along the line costs the recogniser nothing.
        rw += PAD_ALONG * rh
        if rw < rh:
            rw, rh, angle = rh, rw, angle - 90.0
        if angle < -45.0:
            angle += 180.0
        if angle > 135.0:
            angle -= 180.0
        centre = (cx * sx, cy * sy)
        # Scale along the rectangle's own axes, so skewed lines stay the right size.
        rad = math.radians(angle)
        size = (
            rw * math.hypot(sx * math.cos(rad), sy * math.sin(rad)),
            rh * math.hypot(sx * math.sin(rad), sy * math.cos(rad)),
        )
        lines.append(TextLine(centre, size, angle, score))
    return lines


def detect_lines(session: ort.InferenceSession, frame: np.ndarray, budget: int) -> list[TextLine]:
    prob, sx, sy = probability_map(session, frame, budget)
    return lines_from_map(prob, sx, sy)
