"""The ccTalk driver against the simulator over a real pty.

The invariant: the coins reported CREDITED are exactly the coins the
simulator accepted into the cash box, each once.
"""

from __future__ import annotations

import os
import tty

import pytest

from terminal_drivers.coin_acceptor.cctalk import ChecksumMode
from terminal_drivers.coin_acceptor.device import (
    LINE,
    CoinAcceptor,
    CoinEvent,
    CoinEventKind,
    self_test,
)
from terminal_drivers.coin_acceptor.simulator import CoinAcceptorSimulator
from terminal_drivers.errors import CommunicationError, ProtocolError
from terminal_drivers.transport import open_transport


def credited(events: list[CoinEvent]) -> list[int | None]:
    return [e.amount for e in events if e.kind == CoinEventKind.CREDITED]


def test_coins_are_credited_once(ready: CoinAcceptor, sim: CoinAcceptorSimulator) -> None:
    sim.insert_coin(value=200)
    sim.insert_coin(value=50)
    events = ready.poll() + ready.poll()
    assert credited(events) == [200, 50]
    assert [ready.coin_values[p] for p in sim.accepted] == [200, 50]


def test_a_lost_reply_is_read_again_without_double_counting(
    ready: CoinAcceptor, sim: CoinAcceptorSimulator
) -> None:
    sim.insert_coin(value=100)
    sim.swallow_next(1)  # the reply to the first 229 is lost; the driver asks again
    events = ready.poll()
    sim.swallow_next(ready.retries)
    with pytest.raises(CommunicationError):
        ready.poll()
    events += ready.poll()
    assert credited(events) == [100]


def test_a_corrupt_reply_is_retried(ready: CoinAcceptor, sim: CoinAcceptorSimulator) -> None:
    sim.insert_coin(value=20)
    sim.corrupt_next(1)
    sim.send_garbage(data="FF 00 13")
    assert credited(ready.poll()) == [20]


def test_only_garbage_is_a_protocol_error(ready: CoinAcceptor, sim: CoinAcceptorSimulator) -> None:
    sim.corrupt_next(ready.retries)
    with pytest.raises(ProtocolError):
        ready.poll()


def test_inhibited_and_counterfeit_coins_are_rejected(
    acceptor: CoinAcceptor, sim: CoinAcceptorSimulator
) -> None:
    acceptor.read_coin_ids()
    acceptor.enable([5])  # only the 200s
    acceptor.poll()
    sim.insert_coin(value=10)
    sim.counterfeit()
    events = acceptor.poll()
    assert [(e.kind, e.code) for e in events] == [
        (CoinEventKind.REJECTED, 2),  # inhibited coin
        (CoinEventKind.REJECTED, 1),  # reject coin
    ]
    assert sim.accepted == []


def test_master_inhibit(ready: CoinAcceptor, sim: CoinAcceptorSimulator) -> None:
    ready.disable()
    sim.insert_coin(value=200)
    assert credited(ready.poll()) == []
    assert ready.inhibit_status()[1] is False


def test_a_jam_is_a_fault(ready: CoinAcceptor, sim: CoinAcceptorSimulator) -> None:
    sim.jam()
    (event,) = ready.poll()
    assert event.kind == CoinEventKind.FAULT
    assert event.detail == "credit sensor blocked"


def test_no_coin_lost_after_a_reset(ready: CoinAcceptor, sim: CoinAcceptorSimulator) -> None:
    sim.insert_coin(value=200)
    events = ready.poll()
    ready.reset()  # inhibits cleared, counter 0
    ready.enable()
    sim.insert_coin(value=50)
    events += ready.poll()
    assert credited(events) == [200, 50]


def test_an_unseen_power_cut_is_noticed_and_inhibits_restored(
    ready: CoinAcceptor, sim: CoinAcceptorSimulator
) -> None:
    for _ in range(3):
        sim.insert_coin(value=10)
    events = ready.poll()
    sim.power_cycle()
    sim.insert_coin(value=10)  # inhibited after power-up: rejected, counter 1
    events += ready.poll()
    assert CoinEventKind.DEVICE_RESET in [e.kind for e in events]
    sim.insert_coin(value=200)  # the driver re-enabled the coins
    events += ready.poll()
    assert credited(events) == [10, 10, 10, 200]


def test_more_than_five_events_between_polls_are_reported_lost(
    ready: CoinAcceptor, sim: CoinAcceptorSimulator
) -> None:
    for _ in range(7):
        sim.insert_coin(value=10)
    events = ready.poll()
    lost = [e for e in events if e.kind == CoinEventKind.EVENTS_LOST]
    assert [e.code for e in lost] == [2]
    assert credited(events) == [10] * 5


def test_the_counter_wraps_from_255_to_1(ready: CoinAcceptor, sim: CoinAcceptorSimulator) -> None:
    events: list[CoinEvent] = []
    for _ in range(52):  # 260 coins: the counter passes 255 once
        for _ in range(5):
            sim.insert_coin(value=10)
        events += ready.poll()
    assert sim.counter == 260 - 255
    assert credited(events) == [10] * 260


def test_crc16_mode_and_echo(no_leaked_threads: None) -> None:
    sim = CoinAcceptorSimulator(mode="crc16", echo=True)
    sim.start()
    try:
        transport = open_transport(sim.endpoint, defaults=LINE)
        acceptor = CoinAcceptor(transport, mode=ChecksumMode.CRC16, reply_timeout=0.1)
        acceptor.read_coin_ids()
        acceptor.enable()
        acceptor.poll()
        sim.insert_coin(value=100)
        assert credited(acceptor.poll()) == [100]
        acceptor.close()
    finally:
        sim.stop()


def test_address_poll(acceptor: CoinAcceptor) -> None:
    assert acceptor.address_poll(window=0.2) == [2]


def test_self_test_against_the_simulator(sim: CoinAcceptorSimulator) -> None:
    result = self_test(sim.endpoint)
    assert result.ok, result.reason
    assert result.details["category"] == "Coin Acceptor"


def test_self_test_with_nothing_there() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        transport = open_transport(os.ttyname(slave), defaults=LINE)
        acceptor = CoinAcceptor(transport, reply_timeout=0.05, retries=1)
        result = acceptor.self_test()
        acceptor.close()
    finally:
        os.close(master)
        os.close(slave)
    assert not result.ok
    assert "no reply from ccTalk address 2 on /dev/pts/" in result.reason


def test_a_dropped_line_and_recovery(ready: CoinAcceptor, sim: CoinAcceptorSimulator) -> None:
    sim.drop_line()
    sim.insert_coin(value=50)  # the coin drops while the host cannot hear the acceptor
    with pytest.raises(CommunicationError):
        ready.poll()
    assert not ready.online
    sim.restore_line()
    events = ready.poll()
    assert [e.kind for e in events] == [
        CoinEventKind.COMMUNICATION_RESTORED,
        CoinEventKind.CREDITED,
    ]
    assert credited(events) == [50]
