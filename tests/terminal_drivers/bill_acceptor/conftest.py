from __future__ import annotations

from collections.abc import Iterator

import pytest

from terminal_drivers.bill_acceptor.device import LINE, BillAcceptor
from terminal_drivers.bill_acceptor.simulator import BillAcceptorSimulator
from terminal_drivers.transport import open_transport
from tests.terminal_drivers.support import no_leaked_threads

__all__ = ["no_leaked_threads"]


@pytest.fixture
def sim(no_leaked_threads: None) -> Iterator[BillAcceptorSimulator]:
    simulator = BillAcceptorSimulator(escrow_timeout=5.0)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def acceptor(sim: BillAcceptorSimulator) -> Iterator[BillAcceptor]:
    driver = BillAcceptor(open_transport(sim.endpoint, defaults=LINE), reply_timeout=0.1)
    yield driver
    driver.close()


@pytest.fixture
def ready(acceptor: BillAcceptor) -> BillAcceptor:
    """An acceptor past power-up and reset, accepting every denomination."""
    for _ in range(3):
        acceptor.poll()  # POWER_UP (driver resets), INITIALIZE, DISABLE
    acceptor.enable()
    acceptor.poll()  # ENABLE
    return acceptor
