"""A 125 kHz UID reader on a pty: it speaks when a tag is in its field.

Control commands: ``tap`` (a tag enters the field and is sent ``repeat`` times,
as a reader does while the tag stays; ``format`` ``rdm6300``, ``hex`` or
``decimal``), ``bad_checksum`` (an STX frame with a wrong checksum: a read
disturbed by the field), ``partial`` (a frame cut off: the tag pulled away).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from terminal_drivers.simulation.serial_device import Command as ControlCommand
from terminal_drivers.simulation.serial_device import SerialSimulator, SimulatorCommandError
from terminal_drivers.uid_reader import em4100

FORMATS = ("rdm6300", "hex", "decimal")


class UidReaderSimulator(SerialSimulator):
    name = "uid-reader"

    def __init__(self, *, baud: int = 9600, pace: bool = False, fmt: str = "rdm6300") -> None:
        super().__init__(baud=baud, pace=pace, bits_per_byte=10)
        if fmt not in FORMATS:
            raise SimulatorCommandError(f"format must be one of {FORMATS}")
        self.format = fmt
        self._stopping = False
        self.taps: list[str] = []
        self._holds: list[threading.Thread] = []

    def stop(self) -> None:
        self._stopping = True  # a tag held in the field stops repeating
        for thread in self._holds:
            thread.join(timeout=2)
        self._holds.clear()
        super().stop()

    def on_bytes(self, data: bytes) -> bytes:
        return b""  # the reader ignores whatever the host sends

    def commands(self) -> dict[str, ControlCommand]:
        return {"tap": self.tap, "bad_checksum": self.bad_checksum, "partial": self.partial}

    @staticmethod
    def tag_of(uid: str) -> em4100.Tag:
        try:
            raw = bytes.fromhex(uid)
        except ValueError as err:
            raise SimulatorCommandError(f"uid must be hex, not {uid!r}") from err
        if len(raw) == 5:
            return em4100.Tag(int.from_bytes(raw[1:], "big"), raw[0])
        if len(raw) == 4:
            return em4100.Tag(int.from_bytes(raw, "big"))
        raise SimulatorCommandError("an EM4100 uid is 5 bytes (10 hex digits) or 4")

    def frame(self, tag: em4100.Tag, fmt: str | None = None) -> bytes:
        fmt = fmt or self.format
        if fmt == "rdm6300":
            return em4100.encode_rdm6300(tag)
        return em4100.encode_line(tag, decimal=fmt == "decimal")

    def tap(
        self, uid: str, repeat: int = 1, interval_ms: int = 100, format: str = ""
    ) -> dict[str, Any]:
        tag = self.tag_of(uid)
        frame = self.frame(tag, format or None)
        self.taps.append(tag.uid)
        self._write(frame)
        if repeat > 1:

            def again() -> None:
                for _ in range(repeat - 1):
                    time.sleep(interval_ms / 1000)
                    if self._stopping or self._link is None:
                        return
                    self._write(frame)

            thread = threading.Thread(target=again, name=f"sim-{self.name}-hold", daemon=True)
            self._holds.append(thread)
            thread.start()
        return {"tag": tag.uid, "sent": frame.hex(" ")}

    def bad_checksum(self, uid: str = "0100070C7F") -> dict[str, Any]:
        frame = bytearray(em4100.encode_rdm6300(self.tag_of(uid)))
        frame[12] = ord("0") if frame[12] != ord("0") else ord("1")
        self._write(bytes(frame))
        return {"sent": bytes(frame).hex(" ")}

    def partial(self, uid: str = "0100070C7F", length: int = 6) -> dict[str, Any]:
        frame = self.frame(self.tag_of(uid))[:length]
        self._write(frame)
        return {"sent": frame.hex(" ")}

    def state(self) -> dict[str, Any]:
        return {**super().state(), "format": self.format, "taps": list(self.taps)}


def create(*, baud: int = 9600, pace: bool = False, **options: Any) -> UidReaderSimulator:
    return UidReaderSimulator(baud=baud, pace=pace, **options)
