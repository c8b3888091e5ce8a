"""Quantise the text detector to int8, calibrated on rendered frames only.

    pip install -e '.[lpr-train]'
    python -m lpr.train.quantize            # writes lpr/models/det_int8.onnx

The detector dominates the time per frame. Static QDQ quantisation (int8
weights per channel, uint8 activations) lets onnxruntime use the CPU's integer
dot-product units (AVX-512 VNNI / AVX-VNNI). Calibration frames come from
``lpr.render`` (never from the evaluation photos), scaled exactly as the reader
scales a frame for its first pass. The result is checked with ``prepaid lpr
eval``; if a CPU lacks VNNI the fp32 model may be faster (``--fp32-detector``).
"""

from __future__ import annotations

import argparse
import random
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import version_converter
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from lpr import render
from lpr.detect import preprocess
from lpr.reader import FAST_BUDGET, FINE_BUDGET
from lpr.sessions import DETECTOR_FILE, INT8_DETECTOR, models_dir

FAULTS = (
    render.Faults(),
    render.Faults(skew=0.7),
    render.Faults(blur=0.6),
    render.Faults(glare=0.6),
    render.Faults(night=0.7),
)


class RenderedFrames(CalibrationDataReader):  # type: ignore[misc]  # untyped base
    def __init__(self, count: int, seed: int) -> None:
        rng = random.Random(seed)
        self._inputs: list[np.ndarray] = []
        sizes = ((1280, 720), (1920, 1080), (1280, 1280), (960, 540))
        for i in range(count):
            size = sizes[i % len(sizes)]
            region = ("eu", "us", "br", "cn")[i % 4]
            sample = render.sample(region, rng, faults=FAULTS[i % len(FAULTS)], size=size)
            budget = FAST_BUDGET if i % 3 else FINE_BUDGET
            self._inputs.append(preprocess(sample.frame, budget)[0])
        self._next = iter(self._inputs)

    def get_next(self) -> dict[str, np.ndarray] | None:
        x = next(self._next, None)
        return None if x is None else {"x": x}


def quantise(out: Path, count: int, seed: int) -> None:
    source = models_dir() / DETECTOR_FILE
    with tempfile.TemporaryDirectory() as tmp:
        upgraded = Path(tmp) / "opset13.onnx"
        # The shipped model is opset 11, whose DequantizeLinear has no per-channel axis.
        onnx.save(version_converter.convert_version(onnx.load(str(source)), 13), str(upgraded))
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(upgraded), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(out),
            RenderedFrames(count, seed),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            # MinMax accepts frames of several shapes (the percentile method does not).
            calibrate_method=CalibrationMethod.MinMax,
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lpr.train.quantize", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent.parent / INT8_DETECTOR)
    parser.add_argument("--frames", type=int, default=48, help="rendered calibration frames")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    quantise(args.out, args.frames, args.seed)
    size = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({size:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
