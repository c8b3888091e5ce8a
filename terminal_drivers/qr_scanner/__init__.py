"""QR scanners: a camera decoded with pyzbar, or a serial scanner that sends lines.

Flow: ``camera.py`` (``CameraQrScanner``) pulls frames from a ``FrameSource``
(OpenCV ``VideoCapture`` on a device index, an RTSP URL or a file; or the
simulated camera), turns them grey and decodes QR codes with pyzbar;
``lines.py`` is the pure framing of serial scanners (one code per line,
optionally after an AIM symbology identifier); ``serial_scanner.py``
(``SerialQrScanner``) reads them from a transport. Both hand out ``QrScan``
values and drop the repeats of a code held in view. ``simulator.py`` has the
serial scanner on a pty and a camera that renders codes with segno.

The scanners only read text: a resident's QR code is a signed, short-lived
token, and checking it is the app's business, not the driver's.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QrScan:
    text: str
    source: str  # "camera" | "serial"
    at: float  # time.monotonic() when decoded


class Debouncer:
    """A code held in view (or re-sent by a scanner) counts once until it has
    been out of view for ``window`` seconds."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._last: dict[str, float] = {}

    def is_new(self, text: str, now: float) -> bool:
        last = self._last.get(text)
        self._last[text] = now
        if len(self._last) > 256:  # forget codes long gone
            self._last = {k: v for k, v in self._last.items() if now - v < self.window}
        return last is None or now - last >= self.window
