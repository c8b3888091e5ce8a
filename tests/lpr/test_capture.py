"""Frame sources: folders, the simulator feed, video files, dropped streams, bad pictures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from lpr.capture import (
    SIM_FEED,
    CameraHealth,
    FolderSource,
    Health,
    VideoSource,
    open_source,
)
from lpr.errors import CaptureError


def picture(seed: int, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image: np.ndarray = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    return image


class FakeCapture:
    """Plays a script: a picture, or None for a failed read; ``opens`` False fails to open."""

    def __init__(self, script: Iterator[np.ndarray | None], opens: bool = True) -> None:
        self._script = script
        self._opens = opens
        self.released = False

    def isOpened(self) -> bool:  # OpenCV spells it so
        return self._opens

    def read(self) -> tuple[bool, np.ndarray | None]:
        image = next(self._script, None)
        return image is not None, image

    def release(self) -> None:
        self.released = True


def test_simulator_feed_ships_with_the_package() -> None:
    with open_source("sim://") as source:
        frames = list(source.frames())
    assert len(frames) == len(list(SIM_FEED.glob("*.jpg"))) >= 8
    assert [f.index for f in frames] == list(range(len(frames)))
    assert all(f.health is Health.OK for f in frames)


def test_folder_loops_when_asked(tmp_path: Path) -> None:
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"{i}.png"), picture(i))
    frames = FolderSource(tmp_path, loop=True).frames()
    assert [next(frames).index for _ in range(5)] == [0, 1, 2, 3, 4]


def test_video_file_plays_to_its_end(tmp_path: Path) -> None:
    path = tmp_path / "gate.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(6):
        writer.write(picture(i))
    writer.release()
    with open_source(str(path)) as source:
        assert isinstance(source, VideoSource)
        assert not source.live
        assert len(list(source.frames())) == 6


def test_dropped_stream_is_reopened() -> None:
    opened: list[FakeCapture] = []
    scripts = iter([[picture(1), picture(2)], [], [picture(3)]])

    def opener(target: int | str) -> FakeCapture:
        cap = FakeCapture(iter(next(scripts, [])))
        opened.append(cap)
        return cap

    naps: list[float] = []
    source = VideoSource("rtsp://cam", opener=opener, sleep=naps.append, max_retries=3)
    frames = source.frames()
    got = [next(frames) for _ in range(3)]
    assert [f.index for f in got] == [0, 1, 2]
    assert source.reconnects == 2
    assert all(cap.released for cap in opened[:2])
    assert naps == [0.5, 1.0]  # backoff doubles while nothing comes


def test_stream_that_never_comes_back_raises() -> None:
    def opener(target: int | str) -> FakeCapture:
        return FakeCapture(iter([]), opens=False)

    source = VideoSource("rtsp://cam", opener=opener, sleep=lambda s: None, max_retries=2)
    with pytest.raises(CaptureError, match="cannot open"):
        list(source.frames())


def test_missing_source_is_a_capture_error() -> None:
    with pytest.raises(CaptureError, match="no such camera"):
        open_source("/nonexistent/feed.mp4")


def test_black_camera_is_reported() -> None:
    health = CameraHealth()
    assert health.observe(picture(1)) is Health.OK
    black = np.random.default_rng(0).integers(0, 4, (48, 64, 3), dtype=np.uint8)
    assert health.observe(black) is Health.BLACK


def test_frozen_camera_is_reported_after_repeats() -> None:
    health = CameraHealth(frozen_after=3)
    still = picture(5)
    verdicts = [health.observe(still) for _ in range(5)]
    assert verdicts == [Health.OK, Health.OK, Health.OK, Health.FROZEN, Health.FROZEN]
    assert health.observe(picture(6)) is Health.OK


def test_live_stream_frames_carry_health() -> None:
    still = picture(9)
    source = VideoSource(
        0,
        opener=lambda t: FakeCapture(iter([still] * 30)),
        live=True,
        health=CameraHealth(frozen_after=10),
    )
    frames = source.frames()
    verdicts = [next(frames).health for _ in range(12)]
    assert verdicts[:10] == [Health.OK] * 10
    assert verdicts[10:] == [Health.FROZEN] * 2
