"""The ID-003 driver against the simulator over a real pty, one test per fault.

The invariant checked throughout: the notes the driver reports CREDITED are
exactly the notes the simulator stacked after vend valid, each once.
"""

from __future__ import annotations

import os
import tty

import pytest

from terminal_drivers.bill_acceptor.device import (
    LINE,
    BillAcceptor,
    BillEvent,
    BillEventKind,
    self_test,
)
from terminal_drivers.bill_acceptor.simulator import BillAcceptorSimulator
from terminal_drivers.errors import CommunicationError, DeviceNeedsTechnician, ProtocolError
from terminal_drivers.transport import open_transport


def run(acceptor: BillAcceptor, polls: int) -> list[BillEvent]:
    events: list[BillEvent] = []
    for _ in range(polls):
        events += acceptor.poll()
    return events


def credited(events: list[BillEvent]) -> list[int | None]:
    return [e.amount for e in events if e.kind == BillEventKind.CREDITED]


def kinds(events: list[BillEvent]) -> list[BillEventKind]:
    return [e.kind for e in events]


def test_a_20_and_a_50_are_credited_once_each(
    ready: BillAcceptor, sim: BillAcceptorSimulator
) -> None:
    sim.insert(value=20)
    sim.insert(value=50)
    events = run(ready, 14)
    assert credited(events) == [2000, 5000]
    assert sim.stacked == [2000, 5000]


def test_a_lost_ack_repeats_vend_valid_but_credits_once(
    ready: BillAcceptor, sim: BillAcceptorSimulator
) -> None:
    sim.insert(value=20)
    sim.ignore_acks(2)
    events = run(ready, 10)
    assert credited(events) == [2000]
    assert sim.stacked == [2000]


def test_counterfeit_is_rejected_and_never_credited(
    ready: BillAcceptor, sim: BillAcceptorSimulator
) -> None:
    sim.counterfeit()
    events = run(ready, 4)
    assert BillEventKind.REJECTED in kinds(events)
    assert credited(events) == []
    assert sim.stacked == []


def test_a_disabled_denomination_is_rejected(
    acceptor: BillAcceptor, sim: BillAcceptorSimulator
) -> None:
    run(acceptor, 3)
    acceptor.enable([2000])  # 20s only
    sim.insert(value=50)
    events = run(acceptor, 4)
    rejected = [e for e in events if e.kind == BillEventKind.REJECTED]
    assert rejected
    assert rejected[0].code == "79"
    assert credited(events) == []


def test_policy_return_gives_the_note_back(sim: BillAcceptorSimulator) -> None:
    transport = open_transport(sim.endpoint, defaults=LINE)
    acceptor = BillAcceptor(transport, reply_timeout=0.1, escrow_policy=lambda amount: False)
    try:
        run(acceptor, 3)
        acceptor.enable()
        sim.insert(value=20)
        events = run(acceptor, 5)
    finally:
        acceptor.close()
    assert BillEventKind.RETURNED in kinds(events)
    assert credited(events) == []
    assert sim.returned == [2000]


def test_acceptor_jam_with_a_note_in_escrow(
    ready: BillAcceptor, sim: BillAcceptorSimulator
) -> None:
    sim.insert(value=20)
    events = run(ready, 1)  # ACCEPTING
    sim.make_jam(where="acceptor")
    events += run(ready, 2)
    faults = [e for e in events if e.kind == BillEventKind.FAULT]
    assert [f.code for f in faults] == ["acceptor_jam"]
    with pytest.raises(DeviceNeedsTechnician):
        ready.require_ready()
    sim.clear()
    events = run(ready, 3)
    assert BillEventKind.FAULT_CLEARED in kinds(events)
    assert credited(events) == []
    assert sim.stacked == []


def test_stacker_jam_while_stacking_is_not_credited(
    ready: BillAcceptor, sim: BillAcceptorSimulator
) -> None:
    sim.insert(value=50)
    events = run(ready, 1)  # ACCEPTING; the next poll sees ESCROW and sends STACK
    sim.make_jam(where="stacker")  # armed: happens when the note moves to the stacker
    events += run(ready, 4)
    fault = next(e for e in events if e.kind == BillEventKind.FAULT)
    assert fault.code == "stacker_jam"
    assert credited(events) == []
    assert sim.stacked == []


def test_cassette_removed_mid_escrow_then_replaced(
    ready: BillAcceptor, sim: BillAcceptorSimulator
) -> None:
    sim.insert(value=20)
    events = run(ready, 1)
    sim.remove_cassette()
    events += run(ready, 2)
    assert [e.code for e in events if e.kind == BillEventKind.FAULT] == ["cassette_removed"]
    sim.insert_cassette()
    events += run(ready, 3)
    assert BillEventKind.FAULT_CLEARED in kinds(events)
    assert credited(events) == []


def test_cassette_full(ready: BillAcceptor, sim: BillAcceptorSimulator) -> None:
    sim.capacity = 1
    sim.insert(value=20)
    events = run(ready, 8)
    assert credited(events) == [2000]
    assert ready.status is not None
    assert ready.status.name == "STACKER_FULL"
    assert "cassette_full" in [e.code for e in events]


def test_failure_code_is_named(ready: BillAcceptor, sim: BillAcceptorSimulator) -> None:
    sim.failure(code=0xA2)
    (event,) = run(ready, 1)
    assert event.kind == BillEventKind.FAULT
    assert "stack motor failure" in event.detail


def test_dropped_line_during_vend_valid_then_recovery_credits_once(
    ready: BillAcceptor, sim: BillAcceptorSimulator
) -> None:
    sim.insert(value=20)
    events = run(ready, 3)  # ACCEPTING, ESCROW (stack sent), STACKING
    sim.drop_line()
    with pytest.raises(CommunicationError):
        ready.poll()
    assert not ready.online
    sim.restore_line()
    events += run(ready, 4)
    assert BillEventKind.COMMUNICATION_RESTORED in kinds(events)
    assert credited(events) == [2000]
    assert sim.stacked == [2000]


def test_a_silent_acceptor_mid_escrow_keeps_the_note_uncredited(
    ready: BillAcceptor, sim: BillAcceptorSimulator
) -> None:
    sim.insert(value=20)
    events = run(ready, 1)
    sim.swallow_next(ready.retries)  # every try of the next request goes unanswered
    with pytest.raises(CommunicationError):
        ready.poll()
    events += run(ready, 6)
    assert credited(events) == sim.stacked == [2000]


def test_garbage_and_corrupt_replies_are_survived(
    ready: BillAcceptor, sim: BillAcceptorSimulator
) -> None:
    sim.insert(value=20)
    sim.send_garbage(data="00 FC 07 13 FC FF 55")
    sim.corrupt_next(2)
    events = run(ready, 8)
    assert credited(events) == [2000]
    assert sim.stacked == [2000]


def test_only_garbage_is_a_protocol_error(ready: BillAcceptor, sim: BillAcceptorSimulator) -> None:
    sim.corrupt_next(ready.retries)
    with pytest.raises(ProtocolError):
        ready.poll()


def test_power_cut_with_a_note_in_the_stacker_is_uncertain_not_credited(
    ready: BillAcceptor, sim: BillAcceptorSimulator
) -> None:
    sim.power_cycle(bill_in_stacker=True)
    events = run(ready, 4)
    assert BillEventKind.UNCERTAIN in kinds(events)
    assert credited(events) == []
    # The driver reset the acceptor and re-applied its settings.
    assert not sim.inhibited


def test_escrow_timeout_returns_the_note(ready: BillAcceptor, sim: BillAcceptorSimulator) -> None:
    # Nobody answers the escrow in time (here: at once), so the acceptor gives it back.
    sim.escrow_timeout = 0.0
    sim.insert(value=50)
    events = run(ready, 4)
    assert BillEventKind.RETURNED in kinds(events)
    assert credited(events) == []
    assert sim.returned == [5000]


def test_self_test_passes_against_the_simulator(sim: BillAcceptorSimulator) -> None:
    result = self_test(f"serial://{sim.endpoint}?baud=9600")
    assert result.ok, result.reason


def test_self_test_fails_clearly_with_nothing_there() -> None:
    result = self_test("/dev/ttyNOTHERE0")
    assert not result.ok
    assert "cannot open" in result.reason
    # A port that exists but where nothing answers (a pty with no device behind it).
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        transport = open_transport(os.ttyname(slave), defaults=LINE)
        acceptor = BillAcceptor(transport, reply_timeout=0.05, retries=1)
        result = acceptor.self_test()
        acceptor.close()
    finally:
        os.close(master)
        os.close(slave)
    assert not result.ok
    assert "no reply on /dev/pts/" in result.reason
    assert "9600 baud" in result.reason
    assert "DIP switches for ID-003" in result.reason


def test_logs_name_the_device_and_the_url(
    ready: BillAcceptor, sim: BillAcceptorSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="terminal_drivers")
    sim.insert(value=20)
    run(ready, 5)
    record = next(r for r in caplog.records if "credited" in r.getMessage())
    assert record.device == "bill acceptor (ID-003)"  # type: ignore[attr-defined]
    assert record.url == ready.url  # type: ignore[attr-defined]
    assert record.getMessage().startswith(f"bill acceptor (ID-003) {ready.url}: ")


def test_hold_then_stack_on_the_customers_word(sim: BillAcceptorSimulator) -> None:
    transport = open_transport(sim.endpoint, defaults=LINE)
    acceptor = BillAcceptor(transport, reply_timeout=0.1, escrow_policy=lambda amount: None)
    try:
        run(acceptor, 3)
        acceptor.enable()
        sim.insert(value=50)
        events = run(acceptor, 4)  # ENABLE, ACCEPTING, ESCROW (hold sent), HOLDING
        assert acceptor.status is not None
        assert acceptor.status.name == "HOLDING"
        assert credited(events) == []
        acceptor.stack()  # the customer pressed "pay 50"
        events += run(acceptor, 4)
    finally:
        acceptor.close()
    assert credited(events) == [5000]
    assert sim.stacked == [5000]
