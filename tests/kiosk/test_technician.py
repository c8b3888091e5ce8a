"""Technician mode without a window: a staff card from the snapshot (or the PIN) opens it;
the doctor runs each device's self-test over the kiosk's own lines; the test receipt prints.

Staff cards are issued on the real central server (``POST /v1/terminals/staff-cards``)
and reach the kiosk in its terminal snapshot, as in the field."""

from __future__ import annotations

import itertools
import time

from central.estate.demo import demo_card_number
from kiosk.controller import KioskController
from kiosk.tokens import make_qr_token
from kiosk.view import Screen
from tests.kiosk.conftest import QR_KEY, Rig
from tests.kiosk.support import CentralServer

_numbers = itertools.count(1)


def issue_staff_card(central: CentralServer, status: str = "active") -> tuple[str, int]:
    """A technician card for the test server's manager ("kiosk"); its number and id."""
    number = f"T9{next(_numbers):04d}{int(time.time() * 1000) % 10**6:06d}"
    made = central.call(
        "POST", "/v1/terminals/staff-cards", {"card_number": number, "staff": "kiosk"},
        key=f"staff-card-{number}",
    )  # fmt: skip
    card_id = int(made["id"])
    if status != "active":
        central.call(
            "POST", f"/v1/terminals/staff-cards/{card_id}/status", {"status": status},
            key=f"staff-card-{number}-{status}",
        )  # fmt: skip
    return number, card_id


def kiosk_knowing_cards(rig: Rig) -> KioskController:
    kiosk = rig.kiosk()
    kiosk._refresh_credentials(force=True)  # the snapshot with the cards issued so far
    return kiosk


def screen_of(kiosk: KioskController) -> Screen:
    return kiosk.view.screen


def test_an_active_technician_card_opens_technician_mode_by_its_id_alone(rig: Rig) -> None:
    number, card_id = issue_staff_card(rig.central)
    kiosk = kiosk_knowing_cards(rig)
    kiosk.card_read(number)
    assert kiosk.view.screen == Screen.TECHNICIAN
    assert kiosk.view.technician_card == card_id
    assert kiosk.view.unit == ""  # a staff card opens no household
    assert {d.name for d in kiosk.view.devices} == {
        "bill_acceptor", "coin_acceptor", "printer", "card_reader",
    }  # fmt: skip
    entries = kiosk.journal.events("technician_in")
    assert entries == [{"method": "staff_card", "staff_card": card_id}]
    assert "kiosk" not in str(entries)  # not the holder's name
    assert number not in str(entries)  # nor the card's number
    kiosk.go_idle()
    assert (screen_of(kiosk), kiosk.view.technician_card) == (Screen.IDLE, 0)


def test_a_lost_or_revoked_staff_card_is_refused_said_and_logged(rig: Rig) -> None:
    lost, lost_id = issue_staff_card(rig.central, "lost")
    revoked, revoked_id = issue_staff_card(rig.central, "revoked")
    kiosk = kiosk_knowing_cards(rig)
    kiosk.card_read(lost)
    assert (kiosk.view.screen, kiosk.view.message) == (Screen.IDENTIFY, "card_lost")
    kiosk.go_idle()
    kiosk.card_read(revoked)
    assert (kiosk.view.screen, kiosk.view.message) == (Screen.IDENTIFY, "card_revoked")
    assert kiosk.journal.events("identify_refused") == [
        {"method": "staff_card", "staff_card": lost_id, "reason": "card_lost"},
        {"method": "staff_card", "staff_card": revoked_id, "reason": "card_revoked"},
    ]
    assert kiosk.journal.count("technician_in") == 0


def test_a_card_marked_lost_after_the_kiosk_knew_it_is_refused_at_the_next_snapshot(
    rig: Rig,
) -> None:
    number, card_id = issue_staff_card(rig.central)
    kiosk = kiosk_knowing_cards(rig)
    kiosk.card_read(number)
    assert kiosk.view.screen == Screen.TECHNICIAN
    kiosk.go_idle()
    rig.central.call(
        "POST", f"/v1/terminals/staff-cards/{card_id}/status", {"status": "lost"},
        key=f"lost-later-{card_id}",
    )  # fmt: skip
    kiosk._refresh_credentials(force=True)
    kiosk.card_read(number)
    assert (screen_of(kiosk), kiosk.view.message) == (Screen.IDENTIFY, "card_lost")


def test_a_resident_card_still_opens_its_household(rig: Rig) -> None:
    issue_staff_card(rig.central)
    kiosk = kiosk_knowing_cards(rig)
    kiosk.card_read(demo_card_number("A", 10, 1))
    assert (kiosk.view.screen, kiosk.view.unit) == (Screen.OVERVIEW, "A-1001")
    assert kiosk.journal.count("technician_in") == 0


def test_the_pin_still_opens_technician_mode_but_never_over_a_residents_session(
    rig: Rig,
) -> None:
    kiosk = rig.kiosk()
    kiosk.technician("1357")
    assert (kiosk.view.screen, kiosk.view.message) == (Screen.IDLE, "pin_wrong")
    assert kiosk.journal.count("technician_refused") == 1
    kiosk.technician("2468")
    assert screen_of(kiosk) == Screen.TECHNICIAN
    assert kiosk.view.technician_card == 0
    assert kiosk.journal.events("technician_in") == [{"method": "pin"}]
    kiosk.go_idle()
    kiosk.qr_scanned(make_qr_token(QR_KEY, "A-1002", int(time.time()) + 60))
    assert screen_of(kiosk) == Screen.OVERVIEW
    kiosk.technician("2468")  # the resident is still there
    assert (screen_of(kiosk), kiosk.view.unit) == (Screen.OVERVIEW, "A-1002")


def test_the_doctor_reports_each_simulated_device_ok(rig: Rig) -> None:
    kiosk = rig.kiosk()
    kiosk.technician("2468")
    kiosk.doctor()
    checks = {c.name: c for c in kiosk.view.doctor}
    assert set(checks) == {"bill_acceptor", "coin_acceptor", "printer", "card_reader"}
    for name in ("bill_acceptor", "coin_acceptor", "printer"):
        check = checks[name]
        assert (check.fitted, check.ok, check.in_use, check.reason, check.advice) == (
            True, True, True, "", "",
        ), check  # fmt: skip
    assert dict(checks["bill_acceptor"].details)["status"]  # the acceptor's own answer
    assert checks["bill_acceptor"].device == "bill acceptor (ID-003)"
    assert not checks["card_reader"].fitted  # this rig has no reader
    assert kiosk.view.message == "doctor_done"
    assert dict(kiosk.view.message_args) == {"ok": "3", "count": "3"}
    assert kiosk.journal.events("doctor") == [
        {"bill_acceptor": "ok", "coin_acceptor": "ok", "printer": "ok"}
    ]


def test_the_doctor_says_why_a_device_failed_and_what_to_do(rig: Rig) -> None:
    kiosk = rig.kiosk()
    kiosk.technician("2468")
    rig.printer_sim.paper_out()
    rig.bill_sim.drop_line()
    kiosk.doctor()
    checks = {c.name: c for c in kiosk.view.doctor}
    printer = checks["printer"]
    assert (printer.ok, printer.reason, printer.advice) == (
        False, "the printer is out of paper", "load a new roll",
    )  # fmt: skip
    assert not printer.in_use  # the kiosk's own check marked it failed first
    bill = checks["bill_acceptor"]
    assert not bill.ok
    assert bill.reason.startswith("no reply on")
    assert bill.advice.startswith("check the cable")
    assert checks["coin_acceptor"].ok
    assert dict(kiosk.view.message_args) == {"ok": "1", "count": "3"}
    journalled = kiosk.journal.events("doctor")[-1]
    assert journalled["printer"] == "the printer is out of paper"
    assert journalled["coin_acceptor"] == "ok"
    # Fixed, the doctor again: both back, and the kiosk uses them again.
    rig.printer_sim.load_paper()
    rig.bill_sim.restore_line()
    kiosk.doctor()
    assert all(c.ok and c.in_use for c in kiosk.view.doctor if c.fitted), kiosk.view.doctor
    assert kiosk.devices.ok("printer")
    assert kiosk.devices.ok("bill_acceptor")


def test_the_doctor_and_the_test_receipt_are_refused_during_a_cash_session(rig: Rig) -> None:
    kiosk = rig.kiosk()
    kiosk.qr_scanned(make_qr_token(QR_KEY, "A-1101", int(time.time()) + 60))
    kiosk.choose_wallet("water")
    kiosk.start_cash()
    printed = len(rig.printer_sim.receipts)
    kiosk.doctor()
    kiosk.test_receipt()
    kiosk.technician("2468")
    assert (kiosk.view.screen, kiosk.view.cash_active) == (Screen.TOP_UP, True)
    assert kiosk.view.doctor == ()
    assert kiosk.journal.count("doctor") == 0
    assert len(rig.printer_sim.receipts) == printed
    kiosk.finish()


def test_the_test_receipt_names_the_kiosk_its_devices_and_backlog(rig: Rig) -> None:
    kiosk = rig.kiosk()
    kiosk.technician("2468")
    kiosk.test_receipt()
    assert kiosk.view.message == "test_printed"
    text = rig.printer_sim.receipts[-1]
    for expected in (
        f"{rig.settings.terminal_id}-TEST",
        "Test receipt",
        f"Terminal {rig.settings.terminal_id}",
        "bill_acceptor  OK",
        "coin_acceptor  OK",
        "printer        OK",
        "card_reader    not fitted",
        "Backlog  0",
    ):
        assert expected in text, text
    rig.printer_sim.paper_out()
    kiosk.test_receipt()
    assert kiosk.view.message == "test_not_printed"
    assert not kiosk.devices.ok("printer")
    assert kiosk.journal.events("test_receipt") == [
        {"printed": True, "problem": ""},
        {"printed": False, "problem": "paper_out"},
    ]
