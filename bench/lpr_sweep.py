"""Plate recognition across many rendered draws: how often a reading confident enough
to act on is wrong, counting every reading in each frame, not only the plate's.

    .venv/bin/python bench/lpr_sweep.py [--seeds 2024 7 11 13 17] [--per-region 20]
        [--dressed] [--overlay]

Each seed draws ``render.mixed_set`` (EU, US, Brazilian and Chinese plates, the
faults cycled, one in five on two lines), read once with the region's own formats
and once with none configured (``any``). Printed per seed and in total: exact match
of the plate's reading, the share acted on, and every actionable reading that is
wrong, the plate's or any other line's. ``--dressed`` draws the same plates with
real plates' clutter (screws, validation stickers, the EU's stars, a specialty
plate's picture and coloured characters, a dealer's frame). ``--overlay`` burns a
camera's date, time and name into a corner of each frame, as IP cameras do.
``bench/lpr.py`` measures one draw (seed 2024) with timings; this one measures
precision over more plates.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# First on the path, before this folder, whose lpr.py would shadow the package.
sys.path.insert(0, str(REPO))

from lpr import render  # noqa: E402
from lpr.evaluate import pick  # noqa: E402
from lpr.reader import ACT_THRESHOLD, PlateReader, ReaderSettings  # noqa: E402


def sweep(
    seeds: Sequence[int], per_region: int, own: bool, dressed: bool, overlay: bool = False
) -> tuple[int, int, int, list[str]]:
    """Frames, exact reads, actionable reads of the plate, and the wrong actionable reads."""
    readers = (
        {r: PlateReader(ReaderSettings(region=r)) for r in render.MIXED_REGIONS}
        if own
        else dict.fromkeys(render.MIXED_REGIONS, PlateReader(ReaderSettings(region="any")))
    )
    frames = exact = acted = 0
    wrong: list[str] = []
    for seed in seeds:
        seed_exact = seed_acted = seed_frames = 0
        for region, i, s in render.mixed_set(seed, per_region, dressed=dressed, overlay=overlay):
            readings = readers[region].read(s.frame)
            reading, _ = pick(readings, s.box)
            seed_frames += 1
            seed_exact += reading is not None and reading.text == s.text
            seed_acted += reading is not None and reading.actionable(ACT_THRESHOLD)
            for r in readings:
                if r.actionable(ACT_THRESHOLD) and r.text != s.text:
                    wrong.append(f"seed {seed} {region}{i}: {s.text} read {r.text}")
        label = "own region" if own else "any"
        print(
            f"  seed {seed:5d} ({label}): exact {seed_exact}/{seed_frames}, "
            f"acted on {seed_acted}/{seed_frames}",
            file=sys.stderr,
            flush=True,
        )
        frames += seed_frames
        exact += seed_exact
        acted += seed_acted
    return frames, exact, acted, wrong


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[2024, 7, 11, 13, 17])
    parser.add_argument("--per-region", type=int, default=20)
    parser.add_argument("--dressed", action="store_true", help="add real plates' clutter")
    parser.add_argument("--overlay", action="store_true", help="add a camera's time and name")
    args = parser.parse_args(argv)
    extras = (", dressed" if args.dressed else "") + (", camera overlay" if args.overlay else "")
    print("# Plate recognition over rendered draws" + extras)
    print(f"seeds {' '.join(map(str, args.seeds))}, {args.per_region} frames per region each")
    for own in (True, False):
        frames, exact, acted, wrong = sweep(
            args.seeds, args.per_region, own, args.dressed, args.overlay
        )
        label = "each region's formats" if own else "region not configured (any)"
        print(f"\n## {label}")
        print(f"frames                          {frames}")
        print(f"exact match                     {100 * exact / frames:.1f}%")
        print(f"confident enough to act on      {100 * acted / frames:.1f}%")
        print(f"actionable and wrong            {len(wrong)} (every reading in the frame)")
        for line in wrong:
            print(f"  wrong: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
