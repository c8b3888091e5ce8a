"""Test helpers shared by the serial device tests: scripted conversations, leak checks."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from terminal_drivers.transport import Transport


@dataclass(frozen=True)
class Step:
    """One exchange: what the driver must write, what the device answers."""

    expect: bytes
    reply: bytes = b""
    note: str = ""


class Conversation(Transport):
    """A transport that plays a script and fails on the first unexpected byte."""

    def __init__(self, steps: list[Step]) -> None:
        super().__init__("script://conversation")
        self.steps = list(steps)
        self.position = 0
        self._pending = b""

    def _write(self, data: bytes) -> None:
        assert self.position < len(self.steps), f"unexpected write {data.hex(' ')} after script"
        step = self.steps[self.position]
        assert data == step.expect, (
            f"step {self.position} ({step.note}): wrote {data.hex(' ')}, "
            f"expected {step.expect.hex(' ')}"
        )
        self.position += 1
        self._pending += step.reply

    def _read(self, size: int, timeout: float) -> bytes:
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def _discard_input(self) -> None:
        self._pending = b""

    def close(self) -> None:
        pass

    def finished(self) -> bool:
        return self.position == len(self.steps)


def h(text: str) -> bytes:
    """Hex as printed in the specifications: ``h("FC 05 11 27 56")``."""
    return bytes.fromhex(text)


def simulator_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("sim-")}


def open_ptys() -> set[str]:
    """The ptys this process holds open (simulator masters and slaves, driver ports)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("/dev/pts/") or target == "/dev/ptmx":
            found.add(f"{fd}:{target}")
    return found


@pytest.fixture
def no_leaked_threads() -> Iterator[None]:
    """Fails a test that leaves a simulator thread or a pty open behind it."""
    threads, ptys = simulator_threads(), open_ptys()
    yield
    leaked = simulator_threads() - threads
    assert not leaked, f"simulator threads left running: {leaked}"
    left_open = open_ptys() - ptys
    assert not left_open, f"ptys left open: {left_open}"
