"""Random fault schedules against the ccTalk simulator: no coin twice, none invented.

Coins credited must be exactly the coins the simulator put in the cash box.
The only allowed shortfall is one the driver reported: more than five events
between two good polls (EVENTS_LOST) or a power cut that wiped the acceptor's
buffer before it was read (DEVICE_RESET).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from terminal_drivers.coin_acceptor.device import LINE, CoinAcceptor, CoinEvent, CoinEventKind
from terminal_drivers.coin_acceptor.simulator import CoinAcceptorSimulator
from terminal_drivers.errors import DriverError
from terminal_drivers.transport import open_transport

ACTIONS = [
    ("coin", {"value": 10}),
    ("coin", {"value": 200}),
    ("counterfeit", {}),
    ("jam", {}),
    ("swallow_next", {"count": 1}),
    ("corrupt_next", {"count": 1}),
    ("garbage", {"data": "01 0B 02 00 05"}),
    ("drop_line", {}),
    ("restore_line", {}),
    ("power_cycle", {}),
]


def poll(acceptor: CoinAcceptor, events: list[CoinEvent], times: int) -> None:
    for _ in range(times):
        with contextlib.suppress(DriverError):  # the controller logs it and polls again
            events += acceptor.poll()


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(0, 2)), max_size=16))
def test_credited_coins_are_exactly_the_accepted_ones(
    schedule: list[tuple[tuple[str, dict[str, object]], int]],
) -> None:
    sim = CoinAcceptorSimulator()
    sim.start()
    transport = open_transport(sim.endpoint, defaults=LINE)
    acceptor = CoinAcceptor(transport, reply_timeout=0.03, retries=2)
    events: list[CoinEvent] = []
    try:
        acceptor.read_coin_ids()
        acceptor.enable()
        acceptor.poll()
        for (name, args), polls in schedule:
            sim.handle_command({"cmd": name, **args})
            poll(acceptor, events, polls)
        sim.restore_line()
        # Drain: until one poll gets through. On a loaded machine a 30 ms reply timeout
        # can miss several replies in a row; the controller polls forever, so the test
        # gives the line seconds, not a count of tries.
        deadline = time.monotonic() + 5.0
        while True:
            try:
                events += acceptor.poll()
                break
            except DriverError:
                if time.monotonic() > deadline:
                    raise
    finally:
        acceptor.close()
        sim.stop()
    credited = [e.amount for e in events if e.kind == CoinEventKind.CREDITED]
    accepted = [acceptor.coin_values[p] for p in sim.accepted]
    assert not Counter(credited) - Counter(accepted), "credited a coin never accepted"
    reported = {e.kind for e in events} & {CoinEventKind.EVENTS_LOST, CoinEventKind.DEVICE_RESET}
    if not reported:
        assert credited == accepted
