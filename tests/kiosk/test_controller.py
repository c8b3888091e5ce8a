"""The controller without a window, against the real simulators and a real central server."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from kiosk.controller import KioskController
from kiosk.gateway import BillPaid, CentralUnavailable
from kiosk.tokens import make_qr_token
from kiosk.view import Screen, WalletState
from tests.kiosk.conftest import QR_KEY, Rig
from tests.kiosk.support import CentralServer, free_port


def until(kiosk: KioskController, done: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out; view: {kiosk.view}"
        kiosk.step()
        time.sleep(0.02)


def screen_of(kiosk: KioskController) -> Screen:
    """The screen now (a call, so mypy does not keep an earlier assert's narrowing)."""
    return kiosk.view.screen


def qr(unit: str, lifetime: int = 60) -> str:
    return make_qr_token(QR_KEY, unit, int(time.time()) + lifetime)


def identify(kiosk: KioskController, unit: str) -> None:
    kiosk.qr_scanned(qr(unit))
    kiosk.step()
    assert kiosk.view.screen == Screen.OVERVIEW, kiosk.view


def test_a_qr_code_shows_every_wallet_of_the_household(rig: Rig) -> None:
    kiosk = rig.kiosk()
    assert kiosk.view.screen == Screen.IDLE
    identify(kiosk, "A-0201")
    purposes = [w.purpose for w in kiosk.view.wallets]
    assert purposes[:3] == ["electricity", "water", "gas"]
    electricity = next(w for w in kiosk.view.wallets if w.purpose == "electricity")
    assert electricity.balance == rig.central.balance("A-0201", "electricity")
    assert electricity.state in (WalletState.OK, WalletState.LOW)
    assert kiosk.view.online


def test_forged_expired_and_replayed_qr_codes_are_refused(rig: Rig) -> None:
    kiosk = rig.kiosk()
    kiosk.qr_scanned(make_qr_token(b"another key", "A-0101", int(time.time()) + 60))
    assert (kiosk.view.screen, kiosk.view.message) == (Screen.IDENTIFY, "qr_forged")
    kiosk.qr_scanned(qr("A-0101", lifetime=-5))
    assert kiosk.view.message == "qr_expired"
    token = qr("A-0101")
    kiosk.qr_scanned(token)
    assert kiosk.view.screen == Screen.OVERVIEW
    kiosk.go_idle()
    kiosk.qr_scanned(token)
    assert kiosk.view.message == "qr_replayed"


def test_cash_is_counted_as_stacked_and_finish_credits_exactly_that(rig: Rig) -> None:
    kiosk = rig.kiosk()
    before = rig.central.balance("A-0301", "water")
    identify(kiosk, "A-0301")
    kiosk.choose_wallet("water")
    assert kiosk.view.message == "no_change"  # said before any note goes in
    kiosk.start_cash()
    assert kiosk.view.notes_accepted
    assert kiosk.view.coins_accepted
    rig.bill_sim.insert(value=20)
    until(kiosk, lambda: kiosk.view.inserted == 2000)
    assert kiosk.view.cue == 1
    rig.bill_sim.counterfeit()
    until(kiosk, lambda: kiosk.view.message == "note_refused")
    rig.coin_sim.insert_coin(value=100)
    until(kiosk, lambda: kiosk.view.inserted == 2100)
    assert kiosk.view.stacked == (2000, 100)
    kiosk.finish()
    assert kiosk.view.screen == Screen.RECEIPT
    receipt = kiosk.view.receipt
    assert receipt is not None
    assert receipt.printed
    assert receipt.balance_after == before + 2100
    assert rig.central.balance("A-0301", "water") == before + 2100
    printed = rig.printer_sim.receipts[-1]
    for expected in (
        "Harbour View Property Management Co., Ltd.",
        "Tax no.  91310000MA1FL0001X",
        f"Receipt  {rig.settings.terminal_id}-{receipt.seq:06d}",
        "CST (Asia/Shanghai)",
        "Unit     A-0301",
        "Wallet   water",
        "Amount   21.00 CNY",
        "Payment  cash",
    ):
        assert expected in printed, printed
    assert f"Balance  {(before + 2100) / 100:.2f} CNY" in printed


def test_finish_with_nothing_inserted_credits_nothing(rig: Rig) -> None:
    kiosk = rig.kiosk()
    identify(kiosk, "A-0401")
    kiosk.choose_wallet("gas")
    kiosk.start_cash()
    kiosk.finish()
    assert kiosk.view.screen == Screen.OVERVIEW
    assert kiosk.journal.open_sessions() == []


def test_out_of_paper_shows_the_e_receipt(rig: Rig) -> None:
    kiosk = rig.kiosk()
    identify(kiosk, "A-0402")
    kiosk.choose_wallet("electricity")
    kiosk.start_cash()
    rig.printer_sim.paper_out()
    rig.bill_sim.insert(value=10)
    until(kiosk, lambda: kiosk.view.inserted == 1000)
    kiosk.finish()
    receipt = kiosk.view.receipt
    assert receipt is not None
    assert not receipt.printed
    assert kiosk.view.message == "paper_out"
    assert receipt.ereceipt_url.startswith(f"https://pay.example/r/{rig.settings.terminal_id}-")
    assert "A-0402" not in receipt.ereceipt_url


def test_inactivity_credits_stacked_cash_then_goes_idle(rig: Rig) -> None:
    kiosk = rig.kiosk()
    now = [1000.0]
    kiosk.clock = lambda: now[0]
    before = rig.central.balance("A-0501", "electricity")
    identify(kiosk, "A-0501")
    kiosk.choose_wallet("electricity")
    kiosk.start_cash()
    rig.bill_sim.insert(value=50)
    until(kiosk, lambda: kiosk.view.inserted == 5000)
    now[0] += rig.settings.cash_timeout_s + 1
    kiosk.step()
    assert kiosk.view.screen == Screen.RECEIPT
    assert rig.central.balance("A-0501", "electricity") == before + 5000
    now[0] += rig.settings.receipt_timeout_s + 1
    kiosk.step()
    assert screen_of(kiosk) == Screen.IDLE
    assert kiosk.view.unit == ""


def test_overview_times_out_to_idle(rig: Rig) -> None:
    kiosk = rig.kiosk()
    now = [0.0]
    kiosk.clock = lambda: now[0]
    identify(kiosk, "A-0502")
    now[0] += rig.settings.idle_timeout_s + 1
    kiosk.step()
    assert screen_of(kiosk) == Screen.IDLE


def test_offline_cash_is_pending_then_applied_once(rig: Rig) -> None:
    online = rig.kiosk()
    identify(online, "A-0601")  # the snapshot of balances
    rig.shutdown(online)
    before = rig.central.balance("A-0601", "electricity")
    kiosk = rig.kiosk(base_url=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    identify(kiosk, "A-0601")
    assert not kiosk.view.online
    assert kiosk.view.balances_at is not None
    kiosk.choose_wallet("electricity")
    kiosk.start_cash()
    rig.bill_sim.insert(value=20)
    until(kiosk, lambda: kiosk.view.inserted == 2000)
    kiosk.finish()
    receipt = kiosk.view.receipt
    assert receipt is not None
    assert receipt.balance_after is None
    assert "Balance  pending" in rig.printer_sim.receipts[-1]
    assert rig.central.balance("A-0601", "electricity") == before
    kiosk.gateway.base_url = rig.central.base_url  # type: ignore[attr-defined]
    until(kiosk, lambda: kiosk.journal.backlog() == 0)
    kiosk._sync()  # again: nothing is applied twice
    assert kiosk.view.online
    assert rig.central.balance("A-0601", "electricity") == before + 2000


def test_a_kiosk_killed_after_a_note_credits_it_on_restart(rig: Rig) -> None:
    kiosk = rig.kiosk()
    before = rig.central.balance("A-0701", "gas")
    identify(kiosk, "A-0701")
    kiosk.choose_wallet("gas")
    kiosk.start_cash()
    rig.bill_sim.insert(value=20)
    until(kiosk, lambda: kiosk.view.inserted == 2000)
    rig.shutdown(kiosk)  # the process dies: no finish
    restarted = rig.kiosk()
    assert restarted.journal.open_sessions() == []
    assert rig.central.balance("A-0701", "gas") == before + 2000
    restarted.step()
    assert rig.central.balance("A-0701", "gas") == before + 2000


def test_the_session_limit_returns_the_note_that_would_pass_it(rig: Rig) -> None:
    kiosk = rig.kiosk()
    kiosk.settings = rig.settings.__class__(
        **{**rig.settings.__dict__, "max_cash_per_session": 3000}
    )
    identify(kiosk, "A-0702")
    kiosk.choose_wallet("water")
    kiosk.start_cash()
    rig.bill_sim.insert(value=20)
    until(kiosk, lambda: kiosk.view.inserted == 2000)
    rig.bill_sim.insert(value=20)
    until(kiosk, lambda: kiosk.view.message == "limit_reached")
    for _ in range(10):
        kiosk.step()
    assert kiosk.view.inserted == 2000
    assert rig.bill_sim.stacked == [2000]


def test_a_full_cash_box_leaves_coins(rig: Rig) -> None:
    kiosk = rig.kiosk()
    identify(kiosk, "A-0801")
    kiosk.choose_wallet("electricity")
    kiosk.start_cash()
    rig.bill_sim.cassette_full()
    until(kiosk, lambda: kiosk.view.message == "cash_box_full")
    assert not kiosk.view.notes_accepted
    assert kiosk.view.coins_accepted
    rig.coin_sim.insert_coin(value=200)
    until(kiosk, lambda: kiosk.view.inserted == 200)


def test_a_dead_bill_acceptor_line_degrades_then_everything_dead_is_out_of_service(
    rig: Rig,
) -> None:
    kiosk = rig.kiosk()
    rig.bill_sim.drop_line()
    kiosk._next_health = 0
    until(kiosk, lambda: not kiosk.devices.ok("bill_acceptor"))
    assert kiosk.view.screen == Screen.IDLE  # coins and QR still work
    rig.coin_sim.drop_line()
    kiosk._next_health = 0
    until(kiosk, lambda: kiosk.view.screen == Screen.OUT_OF_SERVICE)
    assert kiosk.view.estate_phone == "+86 21 5555 0100"
    rig.bill_sim.restore_line()
    rig.coin_sim.restore_line()
    kiosk._next_health = 0
    until(kiosk, lambda: kiosk.view.screen == Screen.IDLE)


def test_technician_mode_needs_the_pin(rig: Rig) -> None:
    kiosk = rig.kiosk()
    kiosk.technician("0000")
    assert kiosk.view.message == "pin_wrong"
    assert kiosk.view.screen == Screen.IDLE
    kiosk.technician("2468")
    assert screen_of(kiosk) == Screen.TECHNICIAN
    assert {d.name for d in kiosk.view.devices} >= {"bill_acceptor", "printer"}


def test_pulling_the_cassette_closes_the_period_and_prints_its_count(rig: Rig) -> None:
    kiosk = rig.kiosk()
    identify(kiosk, "B-0101")
    kiosk.choose_wallet("electricity")
    kiosk.start_cash()
    for value in (20, 20, 50):
        rig.bill_sim.insert(value=value)
    rig.coin_sim.insert_coin(value=100)
    until(kiosk, lambda: kiosk.view.inserted == 9100)
    kiosk.finish()
    kiosk.go_idle()
    assert kiosk.journal.cash_by_denomination() == {2000: 2, 5000: 1}
    rig.bill_sim.remove_cassette()
    kiosk._next_health = 0
    until(kiosk, lambda: "Cash collection" in (rig.printer_sim.receipts or [""])[-1])
    count = rig.printer_sim.receipts[-1]
    assert "20.00 CNY x 2" in count
    assert "50.00 CNY x 1" in count
    assert "Total    90.00 CNY" in count
    assert kiosk.journal.cash_by_denomination() == {}
    assert not kiosk.devices.ok("bill_acceptor")


def test_a_note_on_its_way_in_when_finish_is_pressed_still_counts(rig: Rig) -> None:
    kiosk = rig.kiosk()
    before = rig.central.balance("B-0102", "electricity")
    identify(kiosk, "B-0102")
    kiosk.choose_wallet("electricity")
    kiosk.start_cash()
    rig.bill_sim.insert(value=20)
    until(kiosk, lambda: kiosk.view.inserted == 2000)
    rig.bill_sim.insert(value=50)
    kiosk.step()  # the acceptor has the note; it is not stacked yet
    kiosk.finish()
    receipt = kiosk.view.receipt
    assert receipt is not None
    assert receipt.amount == sum(rig.bill_sim.stacked) == 7000
    assert rig.central.balance("B-0102", "electricity") == before + sum(rig.bill_sim.stacked)


def test_only_a_utility_is_cut_off_when_empty() -> None:
    from kiosk.view import WalletState, wallet_state

    assert wallet_state(0, 0, 1000, "electricity") is WalletState.CUT_OFF
    assert wallet_state(0, 0, 1000, "parking") is WalletState.EMPTY
    assert wallet_state(0, 0, 1000, "maintenance_fund") is WalletState.EMPTY
    assert wallet_state(-500, 1500, 1000, "electricity") is WalletState.EMERGENCY


def fee_bill(central: CentralServer, unit: str) -> int:
    """A 2030-Q1 fee bill of ``unit`` in three instalments; 1000.00 in its fee wallet."""
    central.call(
        "POST", "/v1/fees/schedules",
        {"unit_kind": "flat", "per_m2_month": "2.00", "effective_from": "2025-01-01"},
        key="kiosk-fee-schedule",
    )  # fmt: skip
    central.call(
        "POST", "/v1/fees/runs", {"period": "2030-Q1", "due_on": "2030-01-31"},
        key="kiosk-fee-run",
    )  # fmt: skip
    bill_id = int(central.call("GET", f"/v1/fees/units/{unit}/bills")[0]["bill_id"])
    central.call("POST", f"/v1/fees/bills/{bill_id}/instalments", {"count": 3}, key=f"plan-{unit}")
    central.call(
        "POST", "/v1/ledger/top-ups",
        {"unit": unit, "wallet": "property_fee", "amount": 100000, "currency": "CNY",
         "method": "staff_desk"},
        key=f"fee-wallet-{unit}",
    )  # fmt: skip
    return bill_id


def test_the_kiosk_pays_an_instalment_end_to_end(rig: Rig) -> None:
    central, unit = rig.central, "A-0101"
    bill_id = fee_bill(central, unit)
    before = central.call("GET", f"/v1/fees/bills/{bill_id}")
    wallet_before = central.balance(unit, "property_fee")
    kiosk = rig.kiosk()
    identify(kiosk, unit)
    bill = next(b for b in kiosk.view.bills if b.bill_id == bill_id)
    instalment = before["next_instalment"]["amount"]
    assert (bill.outstanding, bill.next_instalment) == (before["outstanding"], instalment)
    assert bill.due_on == before["instalments"][0]["due_on"]
    kiosk.choose_bill(bill_id)
    assert kiosk.view.confirm_bill == bill
    kiosk.back()  # changed their mind, then chose again
    assert kiosk.view.confirm_bill is None
    assert screen_of(kiosk) == Screen.OVERVIEW
    kiosk.choose_bill(bill_id)
    kiosk.pay_bill()
    assert screen_of(kiosk) == Screen.RECEIPT, kiosk.view
    receipt = kiosk.view.receipt
    assert receipt is not None
    assert receipt.bill_id == bill_id
    assert (receipt.amount, receipt.printed) == (instalment, True)
    assert receipt.balance_after == wallet_before - instalment
    assert "Part     1 of 3" in receipt.lines
    assert "Part     1 of 3" in rig.printer_sim.receipts[-1]
    # The server: the wallet paid the instalment, once; the bill owes the rest.
    assert central.balance(unit, "property_fee") == wallet_before - instalment
    after = central.call("GET", f"/v1/fees/bills/{bill_id}")
    assert after["outstanding"] == before["outstanding"] - instalment
    assert [i["paid"] for i in after["instalments"]] == [True, False, False]
    assert after["status"] == "open"
    # Journalled before the server was asked, and its outcome after.
    assert kiosk.journal.count("fee_payment") == 1
    assert kiosk.journal.count("fee_paid") == 1
    rig.shutdown(kiosk)


def test_a_fee_payment_whose_answer_is_lost_is_paid_once_on_retry(rig: Rig) -> None:
    central, unit = rig.central, "A-0202"
    bill_id = fee_bill(central, unit)
    wallet_before = central.balance(unit, "property_fee")
    kiosk = rig.kiosk()
    identify(kiosk, unit)
    gateway = kiosk.gateway
    real = gateway.pay_bill

    def lost_answer(**kwargs: Any) -> BillPaid:
        real(**kwargs)  # the server applies it; the answer never comes back
        raise CentralUnavailable("timed out")

    gateway.pay_bill = lost_answer  # type: ignore[method-assign]
    kiosk.choose_bill(bill_id)
    instalment = kiosk.view.bills[0].due_now
    kiosk.pay_bill()
    assert kiosk.view.message == "fee_no_answer"
    assert screen_of(kiosk) == Screen.OVERVIEW
    gateway.pay_bill = real  # type: ignore[method-assign]
    assert kiosk.view.confirm_bill is not None  # asked again: the next instalment, same amount
    kiosk.pay_bill()
    assert screen_of(kiosk) == Screen.RECEIPT
    assert central.balance(unit, "property_fee") == wallet_before - instalment  # once
    after = central.call("GET", f"/v1/fees/bills/{bill_id}")
    assert [i["paid"] for i in after["instalments"]] == [True, False, False]
    rig.shutdown(kiosk)


def test_a_top_up_the_server_refuses_says_so_on_paper_screen_and_next_visit(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    # A kiosk set up with the wrong currency that first boots without the network: it
    # cannot know the estate keeps CNY until its first snapshot, and the server refuses
    # the top-up it journals meanwhile. The cash stays in its box and on record.
    rig.settings = replace(rig.settings, currency="EUR")
    kiosk = rig.kiosk(base_url=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    before = rig.central.balance("A-1101", "water")
    identify(kiosk, "A-1101")
    assert kiosk.view.refused_top_up is None
    kiosk.choose_wallet("water")
    kiosk.start_cash()
    rig.bill_sim.insert(value=20)
    until(kiosk, lambda: kiosk.view.inserted == 2000)
    kiosk.gateway.base_url = rig.central.base_url  # type: ignore[attr-defined]  # back up
    kiosk.finish()
    receipt = kiosk.view.receipt
    assert receipt is not None
    assert receipt.refused
    assert receipt.balance_after is None
    assert kiosk.view.message == "printed"
    assert kiosk.journal.top_up(receipt.seq).state == "rejected"  # type: ignore[union-attr]
    printed = rig.printer_sim.receipts[-1]
    assert "Balance  NOT APPLIED" in printed
    assert "The office will credit it:" in printed
    assert "Balance  pending" not in printed
    assert rig.central.balance("A-1101", "water") == before
    unapplied = rig.central.call("GET", f"/v1/cash/unapplied?terminal={rig.identity.terminal_id}")
    assert [(u["seq"], u["amount"], u["unit"], u["refused"]["code"]) for u in unapplied] == [
        (receipt.seq, 2000, "A-1101", "currency_mismatch")
    ]
    kiosk.reprint()
    assert "Balance  NOT APPLIED" in rig.printer_sim.receipts[-1]
    assert "*** DUPLICATE ***" in rig.printer_sim.receipts[-1]
    # With its first snapshot the kiosk knows the estate's currency: out of service,
    # and it says why in its log.
    kiosk.go_idle()
    assert kiosk.view.refused_top_up is None
    with caplog.at_level("ERROR"):
        kiosk._refresh_credentials(force=True)
        kiosk.step()
    assert kiosk.view.screen == Screen.OUT_OF_SERVICE
    assert "set up for EUR but the estate keeps its books in CNY" in caplog.text
    # The household's next visit says what became of its money, and takes no more.
    kiosk.qr_scanned(qr("A-1101", lifetime=120))  # a fresh code: the first one is spent
    kiosk.step()
    assert kiosk.view.screen == Screen.OVERVIEW
    notice = kiosk.view.refused_top_up
    assert notice is not None
    assert (notice.reference, notice.wallet, notice.amount) == (receipt.reference, "water", 2000)
    kiosk.choose_wallet("water")
    assert (kiosk.view.screen, kiosk.view.message) == (Screen.OVERVIEW, "payments_unavailable")
    kiosk.go_idle()
    identify(kiosk, "A-0201")  # another household hears nothing of it
    assert kiosk.view.refused_top_up is None


def test_a_kiosk_set_up_for_another_currency_takes_no_payment(rig: Rig) -> None:
    rig.kiosk()  # a kiosk set up right: the estate's snapshot is in its journal
    rig.shutdown(rig.controllers[0])
    rig.settings = replace(rig.settings, currency="USD")
    kiosk = rig.kiosk(base_url=f"http://127.0.0.1:{free_port()}")  # even offline
    kiosk.step()
    assert kiosk.view.screen == Screen.OUT_OF_SERVICE
    identify(kiosk, "A-0301")
    kiosk.choose_wallet("electricity")
    assert (kiosk.view.screen, kiosk.view.message) == (Screen.OVERVIEW, "payments_unavailable")
    kiosk.start_cash()
    assert not kiosk.view.cash_active
    assert rig.bill_sim.inhibited  # the acceptor never opened for a note
