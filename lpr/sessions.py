"""Where the ONNX models come from, and one place that opens them.

The detector and recogniser are PP-OCRv6 (small) as shipped inside the rapidocr
3.10.0 wheel: the files are found on disk through the installed package and
opened with onnxruntime directly, so nothing is ever fetched at run time. Only
the model files are used, not rapidocr's own pipeline. The detector also ships
here quantised to int8 (``models/det_int8.onnx``, made by ``lpr.train.quantize``).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import onnxruntime as ort

from lpr.errors import ModelError

DETECTOR_FILE = "PP-OCRv6_det_small.onnx"
RECOGNISER_FILE = "PP-OCRv6_rec_small.onnx"
# The detector quantised to int8 by ``lpr.train.quantize``, shipped in this package.
INT8_DETECTOR = "models/det_int8.onnx"
OWN_MODELS = Path(__file__).parent


def models_dir() -> Path:
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("rapidocr==3.10.0 is not installed: pip install 'prepaid[gate]'")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


@dataclass(frozen=True)
class Sessions:
    detector: ort.InferenceSession
    recogniser: ort.InferenceSession
    vocabulary: tuple[str, ...]  # index 0 is the CTC blank


def _open(path: Path, threads: int) -> ort.InferenceSession:
    if not path.is_file():
        raise ModelError(f"model file missing: {path}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Spinning worker threads burn the cores the camera decoder and the gate app
    # need between frames, and lose badly when the cores are shared.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own untyped errors
        raise ModelError(f"cannot load {path}: {err}") from err


@lru_cache(maxsize=4)
def load(threads: int = 2, int8_detector: bool = True) -> Sessions:
    """The sessions; the int8 detector when asked for and shipped, else the fp32 one."""
    folder = models_dir()
    own = OWN_MODELS / INT8_DETECTOR
    detector_path = own if int8_detector and own.is_file() else folder / DETECTOR_FILE
    detector = _open(detector_path, threads)
    recogniser = _open(folder / RECOGNISER_FILE, threads)
    meta = recogniser.get_modelmeta().custom_metadata_map
    if "character" not in meta:
        raise ModelError("recogniser has no character list in its metadata")
    # PaddleOCR's CTC head: blank first, then the dictionary, then a space last.
    vocab = ("", *meta["character"].splitlines(), " ")
    return Sessions(detector, recogniser, vocab)
