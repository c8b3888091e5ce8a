"""Simulated QR scanners: a serial scanner on a pty, and a camera that renders codes.

Serial scanner control commands: ``scan`` (a code, sent as a line with the
scanner's suffix; ``aim`` adds the ``]Q1`` identifier), ``barcode`` (a Code 128
read, ``]C0...``, which the driver refuses), ``partial`` (a line cut off, as
when the scanner is unplugged mid-send).

``SimulatedCamera`` is a ``FrameSource``: a grey 640x480 scene, with a QR code
drawn by segno when ``show`` is called; ``hide``, ``blur`` (out of focus:
undecodable), ``unplug`` (no more frames) are its faults.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import cv2
import numpy as np
import segno

from terminal_drivers.qr_scanner.camera import Frame
from terminal_drivers.simulation.serial_device import Command as ControlCommand
from terminal_drivers.simulation.serial_device import SerialSimulator, SimulatorCommandError


class QrScannerSimulator(SerialSimulator):
    name = "qr-scanner"

    def __init__(self, *, baud: int = 9600, pace: bool = False, suffix: str = "\r\n") -> None:
        super().__init__(baud=baud, pace=pace, bits_per_byte=10)
        self.suffix = suffix.encode()
        self.scans: list[str] = []

    def on_bytes(self, data: bytes) -> bytes:
        return b""  # in continuous mode the scanner ignores the host

    def commands(self) -> dict[str, ControlCommand]:
        return {"scan": self.scan, "barcode": self.barcode, "partial": self.partial}

    def scan(self, text: str, aim: bool = False) -> dict[str, Any]:
        if "\r" in text or "\n" in text:
            raise SimulatorCommandError("a scanned code cannot hold a line break here")
        line = ("]Q1" if aim else "").encode() + text.encode("utf-8") + self.suffix
        self.scans.append(text)
        self._write(line)
        return {"sent": len(line)}

    def barcode(self, text: str = "4006381333931") -> dict[str, Any]:
        self._write(b"]C0" + text.encode() + self.suffix)
        return {"sent": text}

    def partial(self, text: str = "PP1.partial", length: int = 5) -> dict[str, Any]:
        self._write(text.encode()[:length])
        return {"sent": text[:length]}

    def state(self) -> dict[str, Any]:
        return {**super().state(), "scans": list(self.scans)}


def render_qr(text: str, *, module_px: int = 6) -> Frame:
    """A QR code as a grey image with its quiet zone (light 255, dark 0).

    ``micro=False``: segno picks a Micro QR for short texts, which pyzbar (and
    most phone scanners) cannot read.
    """
    code = segno.make(text, error="m", micro=False)
    matrix = np.array([list(row) for row in code.matrix], dtype=np.uint8)
    image = np.where(matrix == 1, 0, 255).astype(np.uint8)
    image = np.pad(image, 4, constant_values=255)
    block = np.ones((module_px, module_px), dtype=np.uint8)
    rendered: Frame = np.kron(image, block).astype(np.uint8)
    return rendered


class SimulatedCamera:
    """A ``FrameSource`` for tests and demos: a scene with or without a code."""

    def __init__(self, *, width: int = 640, height: int = 480, colour: bool = True) -> None:
        self.width, self.height, self.colour = width, height, colour
        self.lock = threading.Lock()
        self._code: Frame | None = None
        self._blur = False
        self.unplugged = False
        self.frames_served = 0
        self.shown: list[str] = []
        rng = np.random.default_rng(7)
        # A textured background, so "no code" is not trivially a blank frame.
        self._scene = rng.integers(90, 170, size=(height, width), dtype=np.uint8)

    def show(self, text: str, *, module_px: int = 6) -> dict[str, Any]:
        image = render_qr(text, module_px=module_px)
        if image.shape[0] > self.height or image.shape[1] > self.width:
            raise SimulatorCommandError("the code does not fit in the frame: smaller module_px")
        with self.lock:
            self._code = image
            self._blur = False
            self.shown.append(text)
        return {"shown": text}

    def hide(self) -> dict[str, Any]:
        with self.lock:
            self._code = None
        return {"shown": None}

    def blur(self) -> dict[str, Any]:
        with self.lock:
            self._blur = True
        return {"blur": True}

    def unplug(self) -> dict[str, Any]:
        self.unplugged = True
        return {"unplugged": True}

    def handle_command(self, request: dict[str, Any]) -> dict[str, Any]:
        args = dict(request)
        name = args.pop("cmd", None)
        table: dict[str, ControlCommand] = {
            "show": self.show,
            "hide": self.hide,
            "blur": self.blur,
            "unplug": self.unplug,
        }
        if name not in table:
            raise SimulatorCommandError(f"unknown command {name!r}; known: {', '.join(table)}")
        result: dict[str, Any] = table[name](**args)
        return result

    def frame(self) -> Frame:
        with self.lock:
            scene = self._scene.copy()
            if self._code is not None:
                h, w = self._code.shape
                top, left = (self.height - h) // 2, (self.width - w) // 2
                scene[top : top + h, left : left + w] = self._code
                if self._blur:
                    scene = np.asarray(cv2.GaussianBlur(scene, (31, 31), 12), dtype=np.uint8)
        if self.colour:
            colour: Frame = np.asarray(cv2.cvtColor(scene, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
            return colour
        return scene

    def read(self) -> tuple[bool, Any]:
        if self.unplugged:
            return False, None
        time.sleep(0.001)  # a camera never gives frames faster than it shoots them
        self.frames_served += 1
        return True, self.frame()

    def release(self) -> None:
        pass


def create(*, baud: int = 9600, pace: bool = False, **options: Any) -> QrScannerSimulator:
    return QrScannerSimulator(baud=baud, pace=pace, **options)
