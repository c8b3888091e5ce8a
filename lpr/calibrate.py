"""Calibrating the acting rules on rendered plates, never on the evaluation photos.

    python -m lpr.calibrate [--set SEED:N ...] [--target 0.995]

Renders N frames per region (``render.mixed_set``: EU, US, Brazilian and Chinese
plates, the faults cycled, one in five two-line) for each seed, reads each with
its region's formats, and prints:

- the glyph margins (``regions.glyph_margins``) of the reads that were wrong by a
  look-alike at a place where two formats disagree: ``MIN_GLYPH_MARGIN`` must lie
  above the largest of them, and the next whole unit above it is suggested;
- precision and the share acted on at each candidate threshold, with the rules
  as they stand, and the lowest threshold whose precision reaches the target.

The development photos are left out on purpose: they are the held-out check.
Needs Pillow (the ``lpr-train`` extra), as the renderer does.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lpr import render
from lpr.evaluate import pick
from lpr.reader import ACT_THRESHOLD, PlateReader, ReaderSettings
from lpr.regions import MIN_GLYPH_MARGIN, twins
from lpr.types import Reading

DEFAULT_SETS = ("2024:20", "7:50", "11:50")
THRESHOLDS = tuple(round(0.80 + 0.01 * i, 2) for i in range(20))


@dataclass(frozen=True)
class Read:
    region: str
    truth: str
    reading: Reading | None

    @property
    def right(self) -> bool:
        return self.reading is not None and self.reading.text == self.truth


def look_alike_miss(read: str, truth: str) -> bool:
    """Whether ``read`` differs from ``truth`` only by look-alike characters."""
    if len(read) != len(truth) or read == truth:
        return False
    return all(a == b or b in twins(a) for a, b in zip(read, truth, strict=True))


def collect(sets: Iterable[tuple[int, int]]) -> list[Read]:
    readers = {r: PlateReader(ReaderSettings(region=r)) for r in render.MIXED_REGIONS}
    reads: list[Read] = []
    for seed, per_region in sets:
        for region, _, s in render.mixed_set(seed, per_region):
            reading, _ = pick(readers[region].read(s.frame), s.box)
            reads.append(Read(region, s.text, reading))
            if len(reads) % 50 == 0:
                print(f"  ... {len(reads)} frames", file=sys.stderr, flush=True)
    return reads


def suggested_margin(reads: Sequence[Read]) -> tuple[float, list[Read]]:
    """The next whole unit above the largest glyph margin of a look-alike miss."""
    misses = [
        r
        for r in reads
        if r.reading is not None
        and math.isfinite(r.reading.margin)
        and look_alike_miss(r.reading.text, r.truth)
    ]
    worst = max((r.reading.margin for r in misses if r.reading is not None), default=0.0)
    return float(math.floor(worst) + 1), misses


def precision_at(reads: Sequence[Read], threshold: float) -> tuple[float | None, float]:
    """Precision among the reads acted on at ``threshold``, and the share acted on."""
    acted = [r for r in reads if r.reading is not None and r.reading.actionable(threshold)]
    share = len(acted) / len(reads) if reads else 0.0
    if not acted:
        return None, share
    return sum(r.right for r in acted) / len(acted), share


def lowest_threshold(reads: Sequence[Read], target: float) -> float | None:
    for t in THRESHOLDS:
        precision, _ = precision_at(reads, t)
        if precision is not None and precision >= target:
            return t
    return None


def _parse_set(text: str) -> tuple[int, int]:
    seed, _, n = text.partition(":")
    return int(seed), int(n or 20)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lpr.calibrate", description=__doc__)
    parser.add_argument(
        "--set", action="append", dest="sets", help="SEED:N, frames per region (repeatable)"
    )
    parser.add_argument("--target", type=float, default=0.995, help="precision to reach")
    args = parser.parse_args(argv)
    sets = [_parse_set(s) for s in (args.sets or DEFAULT_SETS)]
    reads = collect(sets)
    print(f"{len(reads)} rendered frames, seeds and frames per region: {sets}")
    margin, misses = suggested_margin(reads)
    print(f"\nlook-alike misses at a place where formats disagree: {len(misses)}")
    for r in sorted(misses, key=lambda r: r.reading.margin if r.reading else 0.0):
        assert r.reading is not None
        print(f"  {r.region}: {r.truth} read {r.reading.text}, glyph margin {r.reading.margin:.2f}")
    print(f"glyph margin needed: {margin:.1f} (in use: {MIN_GLYPH_MARGIN:.1f})")
    print(f"\nthreshold  precision  acted on  (target {args.target:.1%})")
    for t in THRESHOLDS:
        precision, share = precision_at(reads, t)
        shown = "n/a" if precision is None else f"{precision:.1%}"
        print(f"  {t:.2f}     {shown:>7}   {share:6.1%}")
    wrong = [r for r in reads if r.reading is not None and r.reading.actionable(ACT_THRESHOLD)]
    wrong = [r for r in wrong if not r.right]
    print(f"wrong and acted on at {ACT_THRESHOLD:.2f}: {len(wrong)}")
    for r in wrong:
        assert r.reading is not None
        print(f"  {r.region}: {r.truth} read {r.reading.text} ({r.reading.confidence:.3f})")
    lowest = lowest_threshold(reads, args.target)
    print(f"lowest threshold reaching the target: {lowest if lowest is not None else 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
