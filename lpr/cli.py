"""``prepaid lpr``: read plates in an image or stream, and evaluate on a labelled folder."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from lpr import evaluate
from lpr.errors import LprError
from lpr.reader import ACT_THRESHOLD, PlateReader, ReaderSettings
from lpr.regions import REGIONS
from lpr.voting import Decision


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prepaid lpr", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--region",
            default="any",
            help=f"plate formats to expect: {', '.join(sorted(REGIONS))} (default: any)",
        )
        p.add_argument(
            "--threshold",
            type=float,
            default=ACT_THRESHOLD,
            help=f"confidence a read needs to be acted on (default: {ACT_THRESHOLD})",
        )

    ev = sub.add_parser("eval", help="accuracy and speed on a folder of labelled photos")
    ev.add_argument("folder", type=Path)
    ev.add_argument("--limit", type=int, default=0, help="only the first N images")
    ev.add_argument("--quiet", action="store_true", help="no per-image progress")
    common(ev)

    rd = sub.add_parser("read", help="print the plates in an image, a video file or a stream")
    rd.add_argument("source", help="image file, video file, folder, camera index or URL")
    rd.add_argument("--frames", type=int, default=1, help="frames to read from a stream")
    common(rd)

    wt = sub.add_parser("watch", help="read a stream with voting: one decision per vehicle")
    wt.add_argument("source", nargs="?", default="sim://", help="as for read (default: sim://)")
    wt.add_argument("--frames", type=int, default=0, help="stop after N frames (0: never)")
    common(wt)
    return parser


def _eval(args: argparse.Namespace) -> int:
    labelled = evaluate.scan(args.folder)
    for label, why in labelled.skipped:
        print(f"skipped {label}: {why}", file=sys.stderr)
    samples = labelled.samples
    if args.limit:
        samples = samples[: args.limit]
    if not samples:
        print(
            f"no labelled images in {args.folder}: each image needs a .txt beside it "
            "holding 'file x y w h PLATE'",
            file=sys.stderr,
        )
        return 1
    reader = PlateReader(ReaderSettings(region=args.region, act_threshold=args.threshold))
    reader.warm_up()
    outcomes = []
    undecodable: list[str] = []

    def skip(sample: evaluate.Sample, why: str) -> None:
        undecodable.append(why)
        print(f"skipped {sample.image}: {why}", file=sys.stderr, flush=True)

    for i, outcome in enumerate(evaluate.run(samples, reader.read, on_skip=skip), 1):
        outcomes.append(outcome)
        if not args.quiet:
            mark = "ok " if outcome.text == outcome.sample.plate else "ERR"
            print(
                f"[{i}/{len(samples)}] {mark} {outcome.sample.image.name}: "
                f"{outcome.text or '-'} ({outcome.seconds * 1000:.0f} ms)",
                file=sys.stderr,
                flush=True,
            )
    report = evaluate.summarise(outcomes, args.threshold)
    print(f"region {reader.region.name}, {args.folder}")
    print("\n".join(report.lines()))
    if labelled.skipped or undecodable:
        print(
            f"not scored: {len(labelled.skipped)} label line(s) or file(s) unusable, "
            f"{len(undecodable)} image(s) undecodable (listed on stderr)"
        )
    return 0


def _read(args: argparse.Namespace) -> int:
    from lpr.capture import open_source

    reader = PlateReader(ReaderSettings(region=args.region, act_threshold=args.threshold))
    found = 0
    with open_source(args.source) as source:
        for n, frame in enumerate(source.frames()):
            if n >= args.frames:
                break
            start = time.perf_counter()
            readings = reader.read(frame.image)
            ms = (time.perf_counter() - start) * 1000
            print(f"frame {frame.index}: {len(readings)} plate(s) in {ms:.0f} ms")
            for r in readings:
                verdict = "act" if r.actionable(args.threshold) else "do not act"
                chars = " ".join(f"{c}:{p:.2f}" for c, p in zip(r.text, r.char_conf, strict=True))
                print(
                    f"  {r.text:<10} confidence {r.confidence:.3f} ({verdict}) "
                    f"format {r.format_name} box {r.box.x},{r.box.y},{r.box.w}x{r.box.h}"
                )
                print(f"    per character: {chars}")
                found += 1
    return 0 if found else 2


def _watch(args: argparse.Namespace) -> int:
    from lpr.capture import Health, open_source
    from lpr.voting import PlateVoter, VoteSettings

    reader = PlateReader(ReaderSettings(region=args.region, act_threshold=args.threshold))
    voter = PlateVoter(VoteSettings(act_threshold=args.threshold), reader.region)
    last_health = Health.OK
    now = 0.0
    with open_source(args.source) as source:
        for n, frame in enumerate(source.frames()):
            if args.frames and n >= args.frames:
                break
            if frame.health is not last_health:
                print(f"camera {frame.health.value} at frame {frame.index}", flush=True)
                last_health = frame.health
            now = frame.timestamp
            for d in voter.update(reader.read(frame.image), now):
                _print_decision(d)
    for d in voter.flush(now + 3600.0):
        _print_decision(d)
    return 0


def _print_decision(d: Decision) -> None:
    verdict = "act" if d.actionable else "NOT ENOUGH TO ACT ON"
    print(
        f"vehicle {d.track_id}: {d.text} confidence {d.confidence:.3f} ({verdict}) "
        f"after {d.frames} frame(s): {d.reason.value}",
        flush=True,
    )


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    try:
        if args.command == "eval":
            return _eval(args)
        if args.command == "watch":
            return _watch(args)
        return _read(args)
    except LprError as err:
        print(f"prepaid lpr: {err}", file=sys.stderr)
        return 1
