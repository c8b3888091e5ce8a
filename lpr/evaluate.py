"""Scoring the reader on labelled photos laid out as ``<image>`` + ``<image stem>.txt``.

Each label file holds one tab-separated line: ``file x y w h PLATE``. The plate
text comes only from that line, never from the file name. When a frame holds
several plates, the reading that overlaps the labelled box is the one scored, as
a gate camera is aimed at one lane.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lpr.errors import ImageError
from lpr.matching import edit_distance
from lpr.regions import normalise
from lpr.types import Box, Reading

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass(frozen=True)
class Sample:
    image: Path
    box: Box
    plate: str


@dataclass(frozen=True)
class Outcome:
    sample: Sample
    reading: Reading | None
    seconds: float
    located: bool  # a reading overlaps the labelled box
    cpu_seconds: float = 0.0  # this process's CPU time, all threads: unmoved by other load

    @property
    def text(self) -> str:
        return self.reading.text if self.reading else ""


@dataclass(frozen=True)
class Report:
    images: int
    exact: float
    within_one: float
    detection: float
    actionable: float
    precision_at_threshold: float | None  # None when nothing was confident enough
    median_s: float
    p95_s: float
    threshold: float
    median_cpu_s: float = 0.0

    def lines(self) -> list[str]:
        precision = (
            "n/a (no read was confident enough)"
            if self.precision_at_threshold is None
            else f"{self.precision_at_threshold:.1%}"
        )
        return [
            f"images                          {self.images}",
            f"exact match                     {self.exact:.1%}",
            f"within one character            {self.within_one:.1%}",
            f"detection rate                  {self.detection:.1%}",
            f"precision at threshold {self.threshold:.2f}    {precision}",
            f"confident enough to act on      {self.actionable:.1%}",
            f"time per image, median          {self.median_s * 1000:.0f} ms",
            f"time per image, p95             {self.p95_s * 1000:.0f} ms",
            f"CPU time per image, median      {self.median_cpu_s * 1000:.0f} ms (all threads)",
        ]


def parse_label(path: Path) -> Sample:
    """One label file; the image is looked up beside it."""
    line = path.read_text(encoding="utf-8").strip().splitlines()[0]
    parts = line.split("\t") if "\t" in line else line.split()
    if len(parts) < 6:
        raise ImageError(f"{path}: expected 'file x y w h PLATE', got {line!r}")
    name, x, y, w, h = parts[0], *(int(float(v)) for v in parts[1:5])
    return Sample(path.parent / name, Box(x, y, w, h), normalise(parts[5]))


def load_samples(folder: Path) -> list[Sample]:
    samples = []
    for label in sorted(folder.glob("*.txt")):
        sample = parse_label(label)
        if sample.image.suffix.lower() in IMAGE_SUFFIXES and sample.image.is_file():
            samples.append(sample)
    return samples


def read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ImageError(f"cannot decode {path}")
    return image


def _overlaps(reading: Reading, box: Box) -> bool:
    cx, cy = reading.box.centre()
    inside = box.x <= cx <= box.x + box.w and box.y <= cy <= box.y + box.h
    return inside or reading.box.iou(box) > 0.3


def pick(readings: Sequence[Reading], box: Box) -> tuple[Reading | None, bool]:
    """The reading for the labelled plate: the best one over its box, else the best one."""
    for reading in readings:
        if _overlaps(reading, box):
            return reading, True
    return (readings[0] if readings else None), False


def run(
    samples: Sequence[Sample],
    read: Callable[[np.ndarray], list[Reading]],
    frames: Callable[[Sample], np.ndarray] | None = None,
) -> Iterator[Outcome]:
    """Reads each sample, timing only the reader (not the image decoding)."""
    load = frames or (lambda s: read_image(s.image))
    for sample in samples:
        image = load(sample)
        start, cpu = time.perf_counter(), time.process_time()
        readings = read(image)
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu
        reading, located = pick(readings, sample.box)
        yield Outcome(sample, reading, seconds, located, cpu_seconds)


def summarise(outcomes: Sequence[Outcome], threshold: float) -> Report:
    n = len(outcomes)
    if n == 0:
        return Report(0, 0.0, 0.0, 0.0, 0.0, None, 0.0, 0.0, threshold)
    exact = sum(o.text == o.sample.plate for o in outcomes)
    near = sum(edit_distance(o.text, o.sample.plate) <= 1 for o in outcomes)
    acted = [o for o in outcomes if o.reading is not None and o.reading.actionable(threshold)]
    right = sum(o.text == o.sample.plate for o in acted)
    times = sorted(o.seconds for o in outcomes)
    return Report(
        images=n,
        exact=exact / n,
        within_one=near / n,
        detection=sum(o.located for o in outcomes) / n,
        actionable=len(acted) / n,
        precision_at_threshold=right / len(acted) if acted else None,
        median_s=statistics.median(times),
        p95_s=times[min(n - 1, round(0.95 * (n - 1)))],
        threshold=threshold,
        median_cpu_s=statistics.median(o.cpu_seconds for o in outcomes),
    )
