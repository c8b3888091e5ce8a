"""The ccTalk driver as a wire conversation (host address 1, acceptor address 2)."""

from __future__ import annotations

from terminal_drivers.coin_acceptor.cctalk import Frame, encode
from terminal_drivers.coin_acceptor.device import CoinAcceptor, CoinEventKind
from tests.terminal_drivers.support import Conversation, Step, h

ACK = h("01 00 02 00 FD")  # reply, no data, from 2 to 1


def reply(data: bytes) -> bytes:
    return encode(Frame(1, 2, 0, data))


def test_simple_poll() -> None:
    line = Conversation([Step(h("02 00 01 FE FF"), ACK, "simple poll -> ACK")])
    CoinAcceptor(line, reply_timeout=0.01).simple_poll()
    assert line.finished()


def test_enable_then_two_coins_and_a_reject() -> None:
    line = Conversation(
        [
            # 231 modify inhibit status: positions 1 and 5 enabled (bits 0 and 4).
            Step(encode(Frame(2, 1, 231, h("11 00"))), ACK, "inhibits -> ACK"),
            Step(encode(Frame(2, 1, 228, h("01"))), ACK, "master inhibit off -> ACK"),
            Step(h("02 00 01 E5 18"), reply(h("00 00 00 00 00 00 00 00 00 00 00")), "229 -> 0"),
            Step(
                h("02 00 01 E5 18"),
                reply(h("03 05 01 00 01 01 01 00 00 00 00")),
                "229 -> counter 3: coin 1, reject, coin 5 (newest first)",
            ),
            # Counting from counter 0: is the master inhibit still as we set it? (a
            # power cut would have cleared it without the counter showing it)
            Step(h("02 00 01 E3 1A"), reply(h("01")), "227 master inhibit -> 1, normal"),
            Step(
                h("02 00 01 E5 18"),
                reply(h("03 05 01 00 01 01 01 00 00 00 00")),
                "229 again -> counter still 3: nothing new",
            ),
        ]
    )
    acceptor = CoinAcceptor(line, reply_timeout=0.01, coin_values={1: 10, 5: 200})
    acceptor.enable()
    events = acceptor.poll() + acceptor.poll() + acceptor.poll()
    assert line.finished()
    assert [(e.kind, e.amount) for e in events] == [
        (CoinEventKind.CREDITED, 10),
        (CoinEventKind.REJECTED, None),
        (CoinEventKind.CREDITED, 200),
    ]


def test_echo_of_the_request_is_ignored() -> None:
    # A single-wire bus: the host reads its own request back before the reply.
    line = Conversation([Step(h("02 00 01 FE FF"), h("02 00 01 FE FF") + ACK, "echo + ACK")])
    CoinAcceptor(line, reply_timeout=0.01).simple_poll()


def test_request_coin_id() -> None:
    line = Conversation(
        [Step(encode(Frame(2, 1, 184, h("05"))), reply(b"EU200A"), "coin id of position 5")]
        + [
            Step(encode(Frame(2, 1, 184, bytes([n]))), reply(b"......"), f"position {n}: empty")
            for n in range(6, 17)
        ]
    )
    line.steps = [
        Step(encode(Frame(2, 1, 184, bytes([n]))), reply(b"......"), "empty") for n in range(1, 5)
    ] + line.steps
    acceptor = CoinAcceptor(line, reply_timeout=0.01)
    assert acceptor.read_coin_ids() == {5: "EU200A"}
    assert acceptor.coin_values == {5: 200}
