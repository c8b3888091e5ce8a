"""Random fault schedules against the simulator: the money invariant holds whatever happens.

hypothesis draws a sequence of customer actions and line and device faults,
each followed by a few polls; at the end every fault is cleared and the
acceptor drained. The notes credited must be exactly the notes that reached
the cash box, each once; a note in the box that the driver could not credit
must have been reported UNCERTAIN (for reconciliation), never guessed.
"""

from __future__ import annotations

import contextlib
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from terminal_drivers.bill_acceptor.codes import Status
from terminal_drivers.bill_acceptor.device import LINE, BillAcceptor, BillEvent, BillEventKind
from terminal_drivers.bill_acceptor.simulator import BillAcceptorSimulator
from terminal_drivers.errors import DriverError
from terminal_drivers.transport import open_transport

ACTIONS = [
    ("insert", {"value": 20}),
    ("insert", {"value": 50}),
    ("counterfeit", {}),
    ("ignore_acks", {"count": 1}),
    ("swallow_next", {"count": 1}),
    ("corrupt_next", {"count": 1}),
    ("garbage", {"data": "FC 06 13 65 00"}),
    ("drop_line", {}),
    ("restore_line", {}),
    ("jam", {"where": "acceptor"}),
    ("jam", {"where": "stacker"}),
    ("clear", {}),
    ("remove_cassette", {}),
    ("insert_cassette", {}),
    ("power_cycle", {}),
]


def poll(acceptor: BillAcceptor, events: list[BillEvent], times: int) -> None:
    for _ in range(times):
        with contextlib.suppress(DriverError):  # the controller logs it and polls again
            events += acceptor.poll()


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(1, 3)), max_size=14))
def test_credited_notes_are_exactly_the_stacked_ones(
    schedule: list[tuple[tuple[str, dict[str, object]], int]],
) -> None:
    sim = BillAcceptorSimulator()
    sim.start()
    acceptor = BillAcceptor(
        open_transport(sim.endpoint, defaults=LINE), reply_timeout=0.03, retries=2
    )
    events: list[BillEvent] = []
    try:
        poll(acceptor, events, 3)
        acceptor.enable()
        for (name, args), polls in schedule:
            sim.handle_command({"cmd": name, **args})
            poll(acceptor, events, polls)
        for name in ("restore_line", "clear", "insert_cassette"):
            sim.handle_command({"cmd": name})
        for _ in range(40):  # drain: every queued note to its end
            poll(acceptor, events, 1)
            if not sim.busy and acceptor.status in (Status.ENABLE, Status.DISABLE):
                break
        else:
            raise AssertionError(f"the acceptor never settled: {sim.state()}")
    finally:
        acceptor.close()
        sim.stop()
    credited = [e.amount for e in events if e.kind == BillEventKind.CREDITED]
    uncertain = any(e.kind == BillEventKind.UNCERTAIN for e in events)
    assert not Counter(credited) - Counter(sim.stacked), "credited a note not in the box"
    if not uncertain:
        assert credited == sim.stacked
