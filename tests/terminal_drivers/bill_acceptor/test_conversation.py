"""The ID-003 driver as a wire conversation: bytes written, bytes answered, one frame a line."""

from __future__ import annotations

from terminal_drivers.bill_acceptor.device import BillAcceptor, BillEventKind
from tests.terminal_drivers.support import Conversation, Step, h

STATUS_REQUEST = h("FC 05 11 27 56")
ACK = h("FC 05 50 AA 05")


def test_a_20_note_from_power_up_to_credit() -> None:
    line = Conversation(
        [
            Step(STATUS_REQUEST, h("FC 05 40 2B 15"), "status -> POWER UP (40)"),
            Step(h("FC 05 40 2B 15"), h("FC 05 50 AA 05"), "RESET -> ACK"),
            Step(STATUS_REQUEST, h("FC 05 1B 7D F9"), "status -> INITIALIZE (1B)"),
            Step(STATUS_REQUEST, h("FC 05 1A F4 E8"), "status -> DISABLE (1A)"),
            # ENABLE/DISABLE: bits 0-6 (codes 61-67) clear = accepted; unused codes inhibited.
            Step(h("FC 07 C0 80 FF 99 36"), h("FC 07 C0 80 FF 99 36"), "enable -> echo"),
            Step(h("FC 06 C3 00 04 D6"), h("FC 06 C3 00 04 D6"), "inhibit off -> echo"),
            Step(STATUS_REQUEST, h("FC 05 11 27 56"), "status -> ENABLE (11)"),
            Step(STATUS_REQUEST, h("FC 05 12 BC 64"), "status -> ACCEPTING (12)"),
            Step(STATUS_REQUEST, h("FC 06 13 65 94 BD"), "status -> ESCROW code 65 (a 20)"),
            Step(h("FC 05 41 A2 04"), ACK, "STACK-1 -> ACK"),
            Step(STATUS_REQUEST, h("FC 05 14 8A 01"), "status -> STACKING (14)"),
            Step(STATUS_REQUEST, h("FC 05 15 03 10"), "status -> VEND VALID (15)"),
            Step(ACK, b"", "ACK to vend valid: the acceptor does not answer"),
            Step(STATUS_REQUEST, h("FC 05 15 03 10"), "VEND VALID again: our ACK was lost"),
            Step(ACK, b"", "ACK again; no second credit"),
            Step(STATUS_REQUEST, h("FC 05 16 98 22"), "status -> STACKED (16)"),
            Step(STATUS_REQUEST, h("FC 05 11 27 56"), "status -> ENABLE"),
        ]
    )
    acceptor = BillAcceptor(line, reply_timeout=0.01)
    events = []
    for _ in range(3):
        events += acceptor.poll()
    acceptor.enable()
    for _ in range(8):
        events += acceptor.poll()
    assert line.finished()
    kinds = [(e.kind, e.amount) for e in events]
    assert kinds == [
        (BillEventKind.POWER_UP, None),
        (BillEventKind.ESCROW, 2000),
        (BillEventKind.CREDITED, 2000),
    ]


def test_a_note_refused_by_policy_is_returned() -> None:
    line = Conversation(
        [
            Step(STATUS_REQUEST, h("FC 06 13 66 0F 8F"), "status -> ESCROW code 66 (a 50)"),
            Step(h("FC 05 43 B0 27"), ACK, "RETURN -> ACK"),
            Step(STATUS_REQUEST, h("FC 05 18 E6 CB"), "status -> RETURNING (18)"),
        ]
    )
    acceptor = BillAcceptor(line, reply_timeout=0.01, escrow_policy=lambda amount: False)
    events = acceptor.poll() + acceptor.poll()
    assert [(e.kind, e.amount) for e in events] == [
        (BillEventKind.ESCROW, 5000),
        (BillEventKind.RETURNED, 5000),
    ]


def test_rejecting_reports_the_reason() -> None:
    line = Conversation([Step(STATUS_REQUEST, h("FC 06 17 72 CA BE"), "REJECTING, 72")])
    (event,) = BillAcceptor(line, reply_timeout=0.01).poll()
    assert event.kind == BillEventKind.REJECTED
    assert event.detail == "magnetic pattern error"


def test_garbage_and_a_bad_crc_before_the_reply_are_skipped() -> None:
    line = Conversation(
        [
            Step(
                STATUS_REQUEST,
                h("00 FF FC 05 11 27 57") + h("FC 05 11 27 56"),
                "noise, a damaged ENABLE, then a good ENABLE",
            )
        ]
    )
    acceptor = BillAcceptor(line, reply_timeout=0.01)
    assert acceptor.poll() == []
    assert acceptor.status is not None
    assert acceptor.status.name == "ENABLE"
