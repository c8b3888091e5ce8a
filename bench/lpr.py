"""Plate-recognition benchmark: accuracy on the development photos and on rendered
plates, time per frame at 1280x720 and 1920x1080, and frames per second with voting.

    .venv/bin/python bench/lpr.py [DEV_FOLDER] [--rendered N] [--frames N]

Times are wall-clock ``time.perf_counter`` around ``PlateReader.read`` alone (image
decoding excluded), after a warm-up pass, onnxruntime on 2 threads; CPU seconds per
frame are printed beside them, since other processes sharing the cores inflate the
wall time but not the CPU time. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import onnxruntime  # noqa: E402

from lpr import evaluate, render  # noqa: E402
from lpr.reader import ACT_THRESHOLD, PlateReader, ReaderSettings  # noqa: E402
from lpr.voting import PlateVoter  # noqa: E402

FAULT_MIX = render.FAULT_MIX


def default_dev() -> Path:
    for candidate in (Path("/work/shared/lpr-dev"), REPO.parent / "shared" / "lpr-dev"):
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared" / "lpr-dev"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


RENDER_REGIONS = render.MIXED_REGIONS


def read_folder(folder: Path, region: str) -> list[evaluate.Outcome]:
    samples = evaluate.load_samples(folder)
    reader = PlateReader(ReaderSettings(region=region))
    reader.warm_up()
    outcomes = []
    for i, outcome in enumerate(evaluate.run(samples, reader.read), 1):
        outcomes.append(outcome)
        if i % 10 == 0 or i == len(samples):
            print(f"  ... {folder.name} {i}/{len(samples)}", file=sys.stderr, flush=True)
    return outcomes


def report(label: str, outcomes: list[evaluate.Outcome]) -> None:
    print(f"\n## {label}")
    print("\n".join(evaluate.summarise(outcomes, ACT_THRESHOLD).lines()))
    for o in outcomes:
        if o.text != o.sample.plate:
            acted = o.reading is not None and o.reading.actionable(ACT_THRESHOLD)
            flag = " (acted on)" if acted else ""
            print(f"  miss: labelled {o.sample.plate}, read {o.text or '-'}{flag}")


def rendered_set(folder: Path, per_region: int) -> None:
    """``per_region`` frames of each region in ``folder/<region>``, cycling the faults."""
    for region in RENDER_REGIONS:
        (folder / region).mkdir(parents=True, exist_ok=True)
    for region, i, s in render.mixed_set(2024, per_region):
        name = f"r{i:04d}.jpg"
        cv2.imwrite(str(folder / region / name), s.frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
        b = s.box
        label = f"{name}\t{b.x}\t{b.y}\t{b.w}\t{b.h}\t{s.text}\n"
        (folder / region / f"r{i:04d}.txt").write_text(label, encoding="utf-8")


def time_frames(size: tuple[int, int], frames: int) -> None:
    reader = PlateReader(ReaderSettings(region="any"))
    reader.warm_up()
    rng = random.Random(size[0])
    wall: list[float] = []
    cpu: list[float] = []
    found = 0
    for i in range(frames):
        # Plates 160-260 px wide at either size: the same lane seen by a wider sensor.
        s = render.sample(("eu", "us", "br")[i % 3], rng, size=size)
        w0, c0 = time.perf_counter(), time.process_time()
        readings = reader.read(s.frame)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
        found += bool(readings) and readings[0].text == s.text
    print(
        f"{size[0]}x{size[1]}: median {statistics.median(wall) * 1000:.0f} ms wall "
        f"(p95 {sorted(wall)[int(0.95 * (len(wall) - 1))] * 1000:.0f} ms), "
        f"median {statistics.median(cpu) * 1000:.0f} ms CPU; "
        f"{found}/{frames} read exactly"
    )


def voting_fps(vehicles: int, frames_per_vehicle: int) -> None:
    reader = PlateReader(ReaderSettings(region="any"))
    reader.warm_up()
    rng = random.Random(99)
    stream: list[tuple[str, render.Sample]] = []
    for v in range(vehicles):
        region = ("eu", "us", "br")[v % 3]
        text = render.random_plate(region, rng)
        faults = FAULT_MIX[v % len(FAULT_MIX)]
        for s in render.vehicle_frames(text, region, rng, frames=frames_per_vehicle, faults=faults):
            stream.append((text, s))
    voter = PlateVoter()
    decisions = []
    clock = 0.0
    start = time.perf_counter()
    for i, (_, s) in enumerate(stream):
        # Vehicles 3 s apart, frames 0.2 s apart, in stream time.
        clock = (i // frames_per_vehicle) * 3.0 + (i % frames_per_vehicle) * 0.2
        decisions += voter.update(reader.read(s.frame), clock)
    decisions += voter.flush(clock + 10.0)
    elapsed = time.perf_counter() - start
    truth = [stream[v * frames_per_vehicle][0] for v in range(vehicles)]
    right = sum(d.text in truth for d in decisions)
    acted_wrong = sum(d.actionable and d.text not in truth for d in decisions)
    frames_to_decide = statistics.median(d.frames for d in decisions) if decisions else 0
    print(
        f"{len(stream)} frames (1280x720), {vehicles} vehicles: {len(stream) / elapsed:.1f} "
        f"frames/s with voting; {len(decisions)} decisions, {right} right, "
        f"{sum(d.actionable for d in decisions)} actionable, {acted_wrong} actionable and wrong; "
        f"median {frames_to_decide} frame(s) to decide"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dev", nargs="?", type=Path, default=default_dev())
    parser.add_argument("--region", default="br", help="region of the development set")
    parser.add_argument("--rendered", type=int, default=80, help="rendered frames to evaluate")
    parser.add_argument("--frames", type=int, default=30, help="frames per timing size")
    args = parser.parse_args(argv)

    print("# Plate recognition benchmark")
    print(
        f"{platform.machine()}, Python {platform.python_version()}, "
        f"onnxruntime {onnxruntime.__version__}, 2 inference threads; {load()}"
    )
    if args.dev.is_dir():
        report(
            f"Development set ({args.dev}, region {args.region})",
            read_folder(args.dev, args.region),
        )
        # The same photos when the region is not configured: every format competes.
        report("Development set, region not configured (any)", read_folder(args.dev, "any"))
    else:
        print(f"\n(no development set at {args.dev}: skipped)")
    per_region = max(1, args.rendered // len(RENDER_REGIONS))
    with tempfile.TemporaryDirectory() as tmp:
        rendered_set(Path(tmp), per_region)
        own: list[evaluate.Outcome] = []
        anyr: list[evaluate.Outcome] = []
        for region in RENDER_REGIONS:
            own += read_folder(Path(tmp) / region, region)
            anyr += read_folder(Path(tmp) / region, "any")
        n = per_region * len(RENDER_REGIONS)
        report(
            f"Rendered set ({n} frames: eu, us, br, cn; mixed faults), each region's formats", own
        )
        report("Rendered set, region not configured (any)", anyr)
    print("\n## Time per frame (rendered frames, one plate each)")
    time_frames((1280, 720), args.frames)
    time_frames((1920, 1080), args.frames)
    print("\n## Frames per second with voting")
    voting_fps(vehicles=6, frames_per_vehicle=5)
    print(f"\n{load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
