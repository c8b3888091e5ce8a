"""The serial scanner over a pty, and the camera scanner on simulated and recorded frames."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from terminal_drivers.errors import CommunicationError
from terminal_drivers.qr_scanner import QrScan, camera
from terminal_drivers.qr_scanner.camera import CameraQrScanner
from terminal_drivers.qr_scanner.serial_scanner import LINE, SerialQrScanner, self_test
from terminal_drivers.qr_scanner.simulator import QrScannerSimulator, SimulatedCamera, render_qr
from terminal_drivers.transport import open_transport
from tests.terminal_drivers.support import no_leaked_threads

__all__ = ["no_leaked_threads"]

TOKEN = "PP1.eyJ1IjoiQS0xMDEifQ.c2lnbmF0dXJl"


@pytest.fixture
def sim(no_leaked_threads: None) -> Iterator[QrScannerSimulator]:
    simulator = QrScannerSimulator()
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def scanner(sim: QrScannerSimulator) -> Iterator[SerialQrScanner]:
    driver = SerialQrScanner(open_transport(sim.endpoint, defaults=LINE), repeat_window=0.3)
    yield driver
    driver.close()


def test_serial_scan(scanner: SerialQrScanner, sim: QrScannerSimulator) -> None:
    sim.scan(TOKEN)
    scan = scanner.read(1.0)
    assert scan is not None
    assert (scan.text, scan.source) == (TOKEN, "serial")


def test_serial_faults_and_identifiers(scanner: SerialQrScanner, sim: QrScannerSimulator) -> None:
    sim.barcode()
    sim.send_garbage(data="00 FF 13 0D", now=True)
    assert scanner.read(0.2) is None
    sim.partial()  # cut off half-way: dropped once the line stays silent
    assert scanner.read(0.2) is None
    sim.scan(TOKEN, aim=True)
    scan = scanner.read(1.0)
    assert scan is not None
    assert scan.text == TOKEN


def test_serial_repeats_count_once(scanner: SerialQrScanner, sim: QrScannerSimulator) -> None:
    sim.scan(TOKEN)
    sim.scan(TOKEN)
    assert scanner.read(1.0) is not None
    assert scanner.read(0.1) is None


def test_serial_self_test(sim: QrScannerSimulator) -> None:
    assert self_test(sim.endpoint).ok


def test_camera_decodes_a_shown_code() -> None:
    cam = SimulatedCamera()
    scanner = CameraQrScanner(cam, repeat_window=0.5)
    assert scanner.read(0.05) is None  # nothing in view
    cam.show(TOKEN)
    scan = scanner.read(1.0)
    assert scan is not None
    assert (scan.text, scan.source) == (TOKEN, "camera")
    assert scanner.read(0.1) is None  # still in view: the same code once


def test_camera_blur_and_unplug() -> None:
    cam = SimulatedCamera()
    scanner = CameraQrScanner(cam, max_failures=3)
    cam.show(TOKEN)
    cam.blur()
    assert scanner.read(0.1) is None
    cam.unplug()
    with pytest.raises(CommunicationError):
        scanner.read(1.0)


def test_pyzbar_is_given_grey() -> None:
    frame = SimulatedCamera(colour=True)
    frame.show("PP1.x")
    bgr = frame.frame()
    assert bgr.ndim == 3
    assert camera.to_grey(bgr).ndim == 2
    assert camera.decode(bgr) == ["PP1.x"]


def test_video_capture_on_a_recorded_clip(tmp_path: Path) -> None:
    """The real OpenCV VideoCapture path: a clip recorded with VideoWriter, then read."""
    clip = tmp_path / "gate.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), 10, (640, 480))
    cam = SimulatedCamera()
    for _ in range(3):
        writer.write(cam.frame())  # an empty scene
    cam.show(TOKEN)
    for _ in range(5):
        writer.write(cam.frame())
    writer.release()
    scanner = CameraQrScanner.open(str(clip))
    try:
        scan = scanner.read(2.0)
        assert scan is not None
        assert scan.text == TOKEN
        assert scanner.read(2.0) is None  # the clip ends: no more codes, no error
    finally:
        scanner.close()
    assert camera.self_test(str(clip)).ok


def test_a_missing_camera() -> None:
    result = camera.self_test(str(Path("/nonexistent/clip.avi")))
    assert not result.ok


def test_render_is_a_full_size_qr() -> None:
    image = render_qr("x")
    assert image.dtype == np.uint8
    assert image.shape[0] >= (21 + 8) * 6  # version 1 QR (not Micro QR) with a quiet zone


def test_a_slow_line_across_short_reads_is_not_cut(no_leaked_threads: None) -> None:
    # Paced at 9600 baud a 60-byte code takes about 60 ms: reads of 5 ms each
    # see it arrive in pieces, and must not take their own timeouts for a cut line.
    sim = QrScannerSimulator(pace=True)
    sim.start()
    scanner = SerialQrScanner(open_transport(sim.endpoint))
    sender = threading.Thread(target=sim.scan, args=(TOKEN * 2,), name="sim-sender")
    try:
        sender.start()  # the simulator sends at 9600 baud while the driver reads
        # Until the first scan comes (a loaded machine can hold the sender back
        # well past the line's 60 ms), then a few more reads for any cut-off rest.
        scans: list[QrScan] = []
        deadline = time.monotonic() + 10.0
        while not scans and time.monotonic() < deadline:
            scans += [s for s in [scanner.read(0.005)] if s]
        scans += [s for s in (scanner.read(0.005) for _ in range(20)) if s]
        assert [s.text for s in scans] == [TOKEN * 2]
    finally:
        sender.join()
        scanner.close()
        sim.stop()
