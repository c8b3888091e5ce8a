"""Frames from a camera: OpenCV ``VideoCapture`` (USB index, RTSP/HTTP URL, video file) or a
folder of images (the camera simulator), with reconnection and a health check.

``open_source`` picks the transport from what it is given, as a device URL does:
``0`` is a USB camera, ``rtsp://...`` a stream, ``gate.mp4`` a file, a folder its
images in name order, and ``sim://`` the rendered feed shipped in ``lpr/simfeed``.
Every frame carries the health verdict of ``CameraHealth``: a black or frozen
picture is reported, not silently read as "no plate".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Protocol

import cv2
import numpy as np

from lpr.errors import CaptureError

SIM_FEED = Path(__file__).parent / "simfeed"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


class Health(Enum):
    OK = "ok"
    BLACK = "black"  # lens covered, IR illuminator dead, cable carrying no picture
    FROZEN = "frozen"  # encoder or stream stuck repeating the last picture


@dataclass(frozen=True)
class Frame:
    index: int
    image: np.ndarray
    timestamp: float
    health: Health = Health.OK


class CameraHealth:
    """Tells a black or frozen camera from a working one, frame by frame.

    A live sensor never repeats a picture exactly (it has noise); a stream that
    repeats the same picture for ``frozen_after`` frames is stuck. A folder of
    still images is not a sensor: callers that replay stills turn ``frozen`` off.
    """

    def __init__(
        self,
        *,
        black_level: float = 12.0,
        black_spread: float = 6.0,
        frozen_after: int = 25,
        frozen_diff: float = 0.3,
        check_frozen: bool = True,
    ) -> None:
        self.black_level = black_level
        self.black_spread = black_spread
        self.frozen_after = frozen_after
        self.frozen_diff = frozen_diff
        self.check_frozen = check_frozen
        self._last: np.ndarray | None = None
        self._repeats = 0

    def observe(self, image: np.ndarray) -> Health:
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        thumb = cv2.resize(grey, (64, 36), interpolation=cv2.INTER_AREA).astype(np.float32)
        last, self._last = self._last, thumb
        if float(thumb.mean()) < self.black_level and float(thumb.std()) < self.black_spread:
            self._repeats = 0
            return Health.BLACK
        if not self.check_frozen or last is None:
            return Health.OK
        if float(np.abs(thumb - last).mean()) < self.frozen_diff:
            self._repeats += 1
        else:
            self._repeats = 0
        return Health.FROZEN if self._repeats >= self.frozen_after else Health.OK


class FrameSource(Protocol):
    def frames(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...

    def __enter__(self) -> FrameSource: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class _Closing:
    def close(self) -> None:
        return None

    def __enter__(self) -> FrameSource:
        return self  # type: ignore[return-value]

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` this module uses, so tests can pass a fake."""

    def isOpened(self) -> bool: ...  # OpenCV spells it so

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def release(self) -> None: ...


def _open_cv(target: int | str) -> Capture:
    capture: Capture = cv2.VideoCapture(target)
    return capture


class VideoSource(_Closing):
    """A camera, stream or video file through OpenCV, reopened when a live feed drops.

    A file ends when it ends; a camera or stream that stops delivering is released
    and reopened after ``backoff`` seconds (doubling up to ``max_backoff``), and
    after ``max_retries`` reopenings in a row without a frame it is given up with
    ``CaptureError``.
    """

    def __init__(
        self,
        target: int | str,
        *,
        opener: Callable[[int | str], Capture] = _open_cv,
        live: bool | None = None,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        health: CameraHealth | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.target = target
        self._opener = opener
        self.live = live if live is not None else not _is_file(target)
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.health = health or CameraHealth(check_frozen=self.live)
        self._sleep = sleep
        self._capture: Capture | None = None
        self.reconnects = 0

    def _connect(self) -> Capture:
        capture = self._opener(self.target)
        if not capture.isOpened():
            capture.release()
            raise CaptureError(f"cannot open {self.target!r}")
        return capture

    def frames(self) -> Iterator[Frame]:
        index = 0
        failures = 0
        delay = self.backoff
        while True:
            if self._capture is None:
                try:
                    self._capture = self._connect()
                except CaptureError:
                    if not self.live or failures >= self.max_retries:
                        raise
                    failures += 1
                    self._sleep(delay)
                    delay = min(delay * 2, self.max_backoff)
                    continue
            ok, image = self._capture.read()
            if ok and image is not None:
                failures, delay = 0, self.backoff
                yield Frame(index, image, time.time(), self.health.observe(image))
                index += 1
                continue
            if not self.live:
                return
            # The stream dropped: reopen it rather than spin on a dead handle.
            self._capture.release()
            self._capture = None
            if failures >= self.max_retries:
                raise CaptureError(
                    f"{self.target!r} delivered no frame after {failures} reconnections"
                )
            failures += 1
            self.reconnects += 1
            self._sleep(delay)
            delay = min(delay * 2, self.max_backoff)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class FolderSource(_Closing):
    """Images of a folder in name order: the camera simulator. ``fps`` paces them."""

    def __init__(
        self,
        folder: Path,
        *,
        loop: bool = False,
        fps: float = 0.0,
        health: CameraHealth | None = None,
    ) -> None:
        self.paths = (
            [folder]
            if folder.is_file()
            else sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        )
        if not self.paths:
            raise CaptureError(f"no images in {folder}")
        self.loop = loop
        self.fps = fps
        # Stills repeat by design, so only blackness is checked.
        self.health = health or CameraHealth(check_frozen=False)

    def frames(self) -> Iterator[Frame]:
        index = 0
        while True:
            for path in self.paths:
                image = cv2.imread(str(path), cv2.IMREAD_COLOR)
                if image is None:
                    raise CaptureError(f"cannot decode {path}")
                yield Frame(index, image, time.time(), self.health.observe(image))
                index += 1
                if self.fps > 0:
                    time.sleep(1.0 / self.fps)
            if not self.loop:
                return


def _is_file(target: int | str) -> bool:
    return isinstance(target, str) and "://" not in target and Path(target).is_file()


def open_source(spec: str | int, *, loop: bool = False, fps: float = 0.0) -> FrameSource:
    """The frame source ``spec`` names: camera index, URL, video file, image, folder, sim://."""
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isascii() and spec.isdigit()):
        return VideoSource(int(spec), live=True)
    if spec.startswith("sim://"):
        folder = Path(spec[len("sim://") :]) if len(spec) > len("sim://") else SIM_FEED
        return FolderSource(folder, loop=loop, fps=fps)
    if "://" in spec:
        return VideoSource(spec, live=True)
    path = Path(spec)
    if path.is_dir() or (path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES):
        return FolderSource(path, loop=loop, fps=fps)
    if path.is_file():
        return VideoSource(spec, live=False)
    raise CaptureError(f"no such camera, file or folder: {spec!r}")
