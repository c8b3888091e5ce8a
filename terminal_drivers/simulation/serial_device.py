"""The base of every serial device simulator: a thread between a pty and a device model.

Subclasses implement ``on_bytes`` (bytes from the host in, the answer out) and
add their own control commands in ``commands()``. Everything here runs under
one lock, so a control command never sees the model half-way through a frame.
"""

from __future__ import annotations

import abc
import logging
import os
import select
import threading
import time
from collections.abc import Callable
from typing import Any

from terminal_drivers.simulation.pty_link import PtyLink

log = logging.getLogger(__name__)

Command = Callable[..., dict[str, Any]]


class SimulatorCommandError(ValueError):
    """A control command the simulator cannot carry out (unknown name, bad argument)."""


class SerialSimulator(abc.ABC):
    """A device on a pty. ``endpoint`` is the path to point the driver at."""

    name = "device"

    def __init__(self, *, baud: int = 9600, pace: bool = False, bits_per_byte: int = 10) -> None:
        self.baud = baud
        self.pace = pace
        # Start bit + data bits + parity + stop bits: 11 for 8E1, 10 for 8N1.
        self.bits_per_byte = bits_per_byte
        self.lock = threading.RLock()
        self._link: PtyLink | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        # Line faults shared by every device.
        self.line_dropped = False
        self._garbage: bytes = b""
        self._corrupt_next = 0
        self._swallow_next = 0
        self.received = bytearray()  # every byte the host sent, for tests
        self.sinks: list[Callable[[bytes], object]] = []  # TCP fronts' connections

    # -- lifecycle ------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        if self._link is None:
            raise RuntimeError(f"{self.name} simulator is not started")
        return self._link.path

    def start(self) -> str:
        self._link = PtyLink()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"sim-{self.name}-{self._link.path}", daemon=True
        )
        self._thread.start()
        log.info(
            "%s simulator on %s (baud %d, pace %s)",
            self.name,
            self._link.path,
            self.baud,
            self.pace,
        )
        return self._link.path

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        if self._link is not None:
            self._link.close()
            self._link = None

    def __enter__(self) -> SerialSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the device model -----------------------------------------------------
    @abc.abstractmethod
    def on_bytes(self, data: bytes) -> bytes:
        """Feed bytes from the host; return what the device answers (maybe nothing)."""

    def commands(self) -> dict[str, Command]:
        """The device's own control commands; the line faults are added to these."""
        return {}

    # -- control --------------------------------------------------------------
    def command_table(self) -> dict[str, Command]:
        """Every control command this simulator takes, by name."""
        return {
            "drop_line": self.drop_line,
            "restore_line": self.restore_line,
            "garbage": self.send_garbage,
            "corrupt_next": self.corrupt_next,
            "swallow_next": self.swallow_next,
            "state": self.state,
            **self.commands(),
        }

    def handle_command(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run one control command: ``{"cmd": "insert", "value": 20}`` -> a JSON-able reply."""
        table = self.command_table()
        args = dict(request)
        name = args.pop("cmd", None)
        if name not in table:
            raise SimulatorCommandError(
                f"unknown command {name!r}; known: {', '.join(sorted(table))}"
            )
        try:
            with self.lock:
                return table[name](**args)
        except TypeError as err:
            raise SimulatorCommandError(f"{name}: {err}") from err

    def state(self) -> dict[str, Any]:
        return {"line_dropped": self.line_dropped}

    def drop_line(self) -> dict[str, Any]:
        """The cable is pulled: the device hears nothing and says nothing."""
        self.line_dropped = True
        return {"line_dropped": True}

    def restore_line(self) -> dict[str, Any]:
        self.line_dropped = False
        return {"line_dropped": False}

    def send_garbage(self, data: str = "", count: int = 8, now: bool = False) -> dict[str, Any]:
        """Noise on the line: ``data`` (hex) or ``count`` random bytes, before the next reply."""
        noise = bytes.fromhex(data) if data else os.urandom(count)
        if now:
            self._write(noise)
        else:
            self._garbage += noise
        return {"garbage": noise.hex(" ")}

    def corrupt_next(self, count: int = 1) -> dict[str, Any]:
        """Flip a bit in the last byte of the next ``count`` replies (a bad CRC/checksum)."""
        self._corrupt_next += count
        return {"corrupt_next": self._corrupt_next}

    def swallow_next(self, count: int = 1) -> dict[str, Any]:
        """Act on the next ``count`` requests but lose the replies (a reply lost on the line)."""
        self._swallow_next += count
        return {"swallow_next": self._swallow_next}

    # -- the byte loop --------------------------------------------------------
    def feed(self, data: bytes) -> bytes:
        """Bytes from the host (over the pty or a TCP front) in, the answer out,
        with the line faults applied."""
        with self.lock:
            if self.line_dropped:
                return b""
            self.received += data
            try:
                reply = self.on_bytes(data)
            except Exception:  # a model bug must not kill the line: log and go on
                log.exception("%s simulator failed on %s", self.name, data.hex(" "))
                return b""
            reply = self._apply_line_faults(reply) if reply else b""
            # What ``prepaid sim -v`` shows: the device's side of the wire.
            log.debug("%s rx %s | tx %s", self.name, data.hex(" "), reply.hex(" ") or "-")
            return reply

    def _run(self) -> None:
        link = self._link
        assert link is not None
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([link.master_fd], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(link.master_fd, 4096)
            except OSError:
                if self._stop.is_set():
                    return
                time.sleep(0.01)
                continue
            if data and (reply := self.feed(data)):
                self._send_pty(reply)

    def _apply_line_faults(self, reply: bytes) -> bytes:
        if self._swallow_next:
            self._swallow_next -= 1
            return b""
        if self._corrupt_next:
            self._corrupt_next -= 1
            reply = reply[:-1] + bytes([reply[-1] ^ 0x01])
        if self._garbage:
            reply, self._garbage = self._garbage + reply, b""
        return reply

    def paced(self, write: Callable[[bytes], object], data: bytes) -> None:
        """Send through ``write``, at the baud rate when pacing."""
        if not self.pace:
            write(data)
            return
        # Ptys and sockets deliver at memory speed; a real line takes
        # bits_per_byte / baud seconds a byte.
        per_byte = self.bits_per_byte / self.baud
        for i in range(len(data)):
            write(data[i : i + 1])
            time.sleep(per_byte)

    def _send_pty(self, data: bytes) -> None:
        link = self._link
        if link is None:
            return
        try:
            self.paced(lambda chunk: os.write(link.master_fd, chunk), data)
        except OSError:
            log.debug("%s simulator: write failed (port closed?)", self.name, exc_info=True)

    def _write(self, data: bytes) -> None:
        """Bytes the device sends on its own (not an answer): to every connected host."""
        self._send_pty(data)
        for sink in list(self.sinks):
            try:
                self.paced(sink, data)
            except OSError:
                log.debug("%s simulator: a TCP host went away", self.name, exc_info=True)
