from __future__ import annotations

from collections.abc import Iterator

import pytest

from terminal_drivers.relay_board.device import LINE, RelayBoard
from terminal_drivers.relay_board.simulator import RelayBoardSimulator
from terminal_drivers.transport import open_transport
from tests.terminal_drivers.support import no_leaked_threads

__all__ = ["no_leaked_threads"]


@pytest.fixture
def sim(no_leaked_threads: None) -> Iterator[RelayBoardSimulator]:
    simulator = RelayBoardSimulator()
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def board(sim: RelayBoardSimulator) -> Iterator[RelayBoard]:
    driver = RelayBoard(open_transport(sim.endpoint, defaults=LINE), reply_timeout=0.1)
    yield driver
    driver.close()
