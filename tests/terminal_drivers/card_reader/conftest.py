"""Fixtures: a real pcscd with the vpcd readers, and the card simulator on reader 00 01.

pcscd is one per host: a running one (a developer's, the demo's) is reused; on a
fresh CI machine the session starts its own and waits for it at the end
(PLATFORM.md: a process killed without ``wait`` stays a zombie here). Tests use
"Virtual PCD 00 01" (port 35964) so that a ``prepaid sim card`` running on
"00 00" during development does not collide with them.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator

import pytest

from terminal_drivers.card_reader.demo_keys import DEMO_MASTER_KEY, DEMO_SYSTEM_ID
from terminal_drivers.card_reader.errors import ReaderUnavailable
from terminal_drivers.card_reader.estate_app import EstateCardApp
from terminal_drivers.card_reader.pcsc import PcscReader
from terminal_drivers.card_reader.pcscd import PCSCD, ensure_pcscd, reader_listed, stop_pcscd
from terminal_drivers.card_reader.simulator import CardSimulator

TEST_PORT = 35964
TEST_READER = "Virtual PCD 00 01"
_lock_holders = 0  # fixture instances in this process holding the vpcd lock


@pytest.fixture(scope="session")
def _vpcd_port_lock() -> Iterator[None]:
    """One test session at a time on the test reader (a second card would queue at vpcd).

    Held for the whole session, so a session that started pcscd also stops it
    before another session looks for one.
    """
    global _lock_holders
    # Other test packages (the kiosk's) reuse this fixture: in one session pytest
    # may set it up once per package, and a second flock from this same process
    # on a new file descriptor would wait for ever on the first.
    if _lock_holders:
        _lock_holders += 1
        try:
            yield
        finally:
            _lock_holders -= 1
        return
    path = os.path.join(tempfile.gettempdir(), f"prepaid-test-vpcd-{TEST_PORT}.lock")
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _lock_holders = 1
        try:
            yield
        finally:
            _lock_holders = 0
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def pcscd(_vpcd_port_lock: None) -> Iterator[None]:
    if not reader_listed(TEST_READER) and not (
        shutil.which(PCSCD) or shutil.which(f"/usr/sbin/{PCSCD}")
    ):
        pytest.skip("pcscd is not installed (apt-get install pcscd vsmartcard-vpcd)")
    try:
        proc = ensure_pcscd(TEST_READER)
    except ReaderUnavailable as err:
        pytest.fail(str(err))
    try:
        yield
    finally:
        stop_pcscd(proc)


@pytest.fixture
def simulator(pcscd: None) -> Iterator[CardSimulator]:
    with CardSimulator(port=TEST_PORT) as sim:
        yield sim


@pytest.fixture
def reader(pcscd: None) -> Iterator[PcscReader]:
    with PcscReader(TEST_READER) as pcsc_reader:
        # Start from an empty reader: a card left by an earlier test has gone.
        assert pcsc_reader.wait_for_removal(3), "a card is still in the test reader"
        yield pcsc_reader


@pytest.fixture
def estate_app() -> EstateCardApp:
    return EstateCardApp(master_key=DEMO_MASTER_KEY, system_id=DEMO_SYSTEM_ID)


@pytest.fixture(autouse=True)
def _no_card_threads_left() -> Iterator[None]:
    """STYLE.md: no test leaves threads behind (a virtual card, a watcher)."""
    yield
    left = [
        t.name
        for t in threading.enumerate()
        if t.name.startswith(("virtual-card-", "card-watcher")) and t.is_alive()
    ]
    assert not left, f"threads left running: {left}"
