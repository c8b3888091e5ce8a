"""Scoring the reader on labelled photos laid out as ``<image>`` + ``<image stem>.txt``.

Each label file holds one tab-separated line: ``file x y w h PLATE``. The plate
text comes only from that line, never from the file name. When a frame holds
several plates, the reading that overlaps the labelled box is the one scored, as
a gate camera is aimed at one lane.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lpr.errors import ImageError, LabelError
from lpr.matching import edit_distance
from lpr.regions import normalise
from lpr.types import Box, Reading

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


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
    plates: int = 0  # labelled plates scored: more than images when a photo holds several

    def lines(self) -> list[str]:
        precision = (
            "n/a (no read was confident enough)"
            if self.precision_at_threshold is None
            else f"{self.precision_at_threshold:.1%}"
        )
        several = (
            [f"labelled plates                 {self.plates}"] if self.plates > self.images else []
        )
        return [
            f"images                          {self.images}",
            *several,
            f"exact match                     {self.exact:.1%}",
            f"within one character            {self.within_one:.1%}",
            f"detection rate                  {self.detection:.1%}",
            f"precision at threshold {self.threshold:.2f}    {precision}",
            f"confident enough to act on      {self.actionable:.1%}",
            f"time per image, median          {self.median_s * 1000:.0f} ms",
            f"time per image, p95             {self.p95_s * 1000:.0f} ms",
            f"CPU time per image, median      {self.median_cpu_s * 1000:.0f} ms (all threads)",
        ]


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d*)?")


def _is_number(text: str) -> bool:
    return _NUMBER.fullmatch(text) is not None


def _image_beside(label: Path, name: str) -> Path:
    """The image a label line names; if that file is not there, the image with the
    label's own stem (a set whose label names ``car.jpg`` beside ``car.jpeg``)."""
    named = label.parent / name if name else label.with_suffix(".jpg")
    if name and named.is_file():
        return named
    for suffix in IMAGE_SUFFIXES:
        for candidate in (label.with_suffix(suffix), label.with_suffix(suffix.upper())):
            if candidate.is_file():
                return candidate
    return named


def parse_label(path: Path) -> list[Sample]:
    """Every plate a label file holds, one line each: ``file x y w h PLATE``, tab- or
    space-separated (a space-separated plate may have spaces of its own: ``AB 123 CD``).
    A line without the file name (``x y w h PLATE``) means the image beside the label.
    Blank lines and ``#`` comments are skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise LabelError(f"{path}: cannot read the label: {err}") from err
    samples = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tabbed = "\t" in line
        parts = [p.strip() for p in line.split("\t")] if tabbed else line.split(maxsplit=5)
        if (
            len(parts) >= 5
            and all(_is_number(v) for v in parts[:4])
            and not (len(parts) >= 6 and _is_number(parts[4]))
        ):
            # No file name: the plate is the fifth field (the rest, space-separated).
            rest = parts[4] if tabbed else " ".join(parts[4:])
            parts = ["", *parts[:4], rest]
        if len(parts) < 6 or not all(_is_number(v) for v in parts[1:5]):
            raise LabelError(f"{path}:{number}: expected 'file x y w h PLATE', got {line!r}")
        # Tab-separated, later fields are not the plate; space-separated, the plate is
        # the rest of the line.
        plate = normalise(parts[5])
        if not plate:
            raise LabelError(f"{path}:{number}: the plate is empty in {line!r}")
        x, y, w, h = (int(float(v)) for v in parts[1:5])
        samples.append(Sample(_image_beside(path, parts[0]), Box(x, y, w, h), plate))
    if not samples:
        raise LabelError(f"{path}: no label line in the file")
    return samples


@dataclass(frozen=True)
class LabelledSet:
    samples: list[Sample]
    skipped: list[tuple[Path, str]]  # label files that could not be used, and why


def scan(folder: Path) -> LabelledSet:
    """The labelled plates under ``folder`` (its subfolders too), in path order; a label
    file that cannot be parsed, or whose image is not there, is skipped with the reason."""
    samples: list[Sample] = []
    skipped: list[tuple[Path, str]] = []
    for label in sorted(folder.rglob("*.txt")):
        try:
            found = parse_label(label)
        except LabelError as err:
            skipped.append((label, str(err)))
            continue
        for sample in found:
            if sample.image.suffix.lower() not in IMAGE_SUFFIXES:
                skipped.append((label, f"{sample.image.name} is not an image file"))
            elif not sample.image.is_file():
                skipped.append((label, f"no image {sample.image.name} beside it"))
            else:
                samples.append(sample)
    return LabelledSet(samples, skipped)


def load_samples(folder: Path) -> list[Sample]:
    return scan(folder).samples


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
    on_skip: Callable[[Sample, str], None] | None = None,
) -> Iterator[Outcome]:
    """Reads each sample, timing only the reader (not the image decoding). An image
    that holds several labelled plates is read once and scored for each. An image that
    cannot be decoded is skipped (``on_skip`` hears why), not scored as a miss."""
    load = frames or (lambda s: read_image(s.image))
    last: tuple[Path, list[Reading], float, float] | None = None
    for sample in samples:
        if last is None or last[0] != sample.image:
            try:
                image = load(sample)
            except ImageError as err:
                if on_skip is not None:
                    on_skip(sample, str(err))
                continue
            start, cpu = time.perf_counter(), time.process_time()
            readings = read(image)
            last = (
                sample.image,
                readings,
                time.perf_counter() - start,
                time.process_time() - cpu,
            )
        _, readings, seconds, cpu_seconds = last
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
    # Time is per image: a photo with two labelled plates was read once.
    per_image = {o.sample.image: o for o in outcomes}.values()
    times = sorted(o.seconds for o in per_image)
    cpu = [o.cpu_seconds for o in per_image]
    return Report(
        images=len(per_image),
        plates=n,
        exact=exact / n,
        within_one=near / n,
        detection=sum(o.located for o in outcomes) / n,
        actionable=len(acted) / n,
        precision_at_threshold=right / len(acted) if acted else None,
        median_s=statistics.median(times),
        p95_s=times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
        threshold=threshold,
        median_cpu_s=statistics.median(cpu),
    )
