from __future__ import annotations

from collections.abc import Iterator

import pytest

from terminal_drivers.coin_acceptor.device import LINE, CoinAcceptor
from terminal_drivers.coin_acceptor.simulator import CoinAcceptorSimulator
from terminal_drivers.transport import open_transport
from tests.terminal_drivers.support import no_leaked_threads

__all__ = ["no_leaked_threads"]


@pytest.fixture
def sim(no_leaked_threads: None) -> Iterator[CoinAcceptorSimulator]:
    simulator = CoinAcceptorSimulator()
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def acceptor(sim: CoinAcceptorSimulator) -> Iterator[CoinAcceptor]:
    driver = CoinAcceptor(open_transport(sim.endpoint, defaults=LINE), reply_timeout=0.1)
    yield driver
    driver.close()


@pytest.fixture
def ready(acceptor: CoinAcceptor) -> CoinAcceptor:
    """Coin ids read, every coin enabled, the event counter baselined."""
    acceptor.read_coin_ids()
    acceptor.enable()
    acceptor.poll()
    return acceptor
