"""Start pcscd when nothing else has: for the simulator, the demo and the tests.

pcscd is one per host (its socket is /run/pcscd/pcscd.comm), so a running one
is always reused. ``-f`` keeps it in the foreground, as our child, so it can be
waited for: this container reaps no orphans (PLATFORM.md). Starting it needs root.
"""

from __future__ import annotations

import shutil
import subprocess
import time

from terminal_drivers.card_reader.errors import ReaderUnavailable
from terminal_drivers.card_reader.pcsc import list_readers
from terminal_drivers.errors import DriverError

PCSCD = "pcscd"


def reader_listed(name: str) -> bool:
    try:
        return name in list_readers()
    except DriverError:
        return False


def ensure_pcscd(reader_name: str, *, timeout: float = 10.0) -> subprocess.Popen[bytes] | None:
    """Make ``reader_name`` appear; returns the pcscd we started (to stop later) or None."""
    if reader_listed(reader_name):
        return None
    binary = shutil.which(PCSCD) or shutil.which(f"/usr/sbin/{PCSCD}")
    if binary is None:
        raise ReaderUnavailable("pcscd is not installed (Debian: apt-get install pcscd)")
    proc = subprocess.Popen([binary, "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not reader_listed(reader_name):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_pcscd(proc)
            raise ReaderUnavailable(
                f"pcscd started but shows no reader {reader_name!r}: "
                "is vsmartcard-vpcd installed? (pcscd needs root to start)"
            )
        time.sleep(0.05)
    return proc


def stop_pcscd(proc: subprocess.Popen[bytes] | None) -> None:
    """Stop a pcscd that ``ensure_pcscd`` started, and reap it."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
