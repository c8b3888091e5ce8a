"""Cash top-ups: notes and coins in, each journalled, the session credited once.

Money rules (DESIGN.md): a note counts only on the acceptor's vend valid (the
driver's ``CREDITED``), a coin on the acceptor's credit event; each is
journalled before the counter on screen moves; "finish" (or a timeout, or the
next start after a crash) journals one top-up of everything stacked, then tells
the server; offline, it stays pending and the sync applies it later, once, by
its idempotency key.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from domain.money import Money
from kiosk.control.receipts import Receipts
from kiosk.devices import BILL, COIN, PRINTER
from kiosk.view import Screen
from terminal_drivers.bill_acceptor.codes import Status
from terminal_drivers.bill_acceptor.device import BillEvent, BillEventKind
from terminal_drivers.coin_acceptor.device import CoinEvent, CoinEventKind
from terminal_drivers.errors import DriverError
from terminal_drivers.receipt_printer.device import Receipt

log = logging.getLogger(__name__)

# A note between the slot and the cash box: "finish" waits for its vend valid or return.
NOTE_IN_FLIGHT = {
    Status.ACCEPTING,
    Status.ESCROW,
    Status.HOLDING,
    Status.STACKING,
    Status.VEND_VALID,
}


class CashTopUp(Receipts):
    """The bill and coin acceptors through a resident's cash session, then its receipt."""

    def start_cash(self) -> None:
        session = self._session
        if session is None or self._view.screen != Screen.TOP_UP or self._view.cash_active:
            return
        if self._wrong_currency():
            self._say("payments_unavailable")
            return
        session.cash_id = secrets.token_hex(8)
        session.stacked = []
        self.journal.append(
            "cash_open",
            {"unit": session.unit, "wallet": self._view.selected_wallet, "card": session.card},
            session=session.cash_id,
        )
        self._set(cash_active=True, inserted=0, stacked=())
        self._enable_cash()
        self._touch()

    def finish(self) -> None:
        """Credit everything stacked in this cash session (never more, never less)."""
        session = self._session
        if session is None or not self._view.cash_active:
            return
        self._drain_cash()
        self._disable_cash()
        if not session.stacked:
            self._stop_cash(reason="nothing inserted")
            self._set(screen=Screen.OVERVIEW, selected_wallet="", message="")
            self._touch()
            return
        entry = self.journal.record_top_up(
            unit=session.unit,
            wallet=self._view.selected_wallet,
            amount=sum(session.stacked),
            currency=self.settings.currency,
            method="cash",
            session=session.cash_id,
            detail={"notes_and_coins": list(session.stacked), "card": session.card},
        )
        self._set(cash_active=False)
        self._after_top_up(entry, card=session.card)

    def _prepare_cash_devices(self) -> None:
        bill, coin = self.devices.bill, self.devices.coin
        if bill is not None:
            bill.escrow_policy = self._accept_note
            try:
                for _ in range(4):  # power-up, reset, initialise, disabled
                    self._bill_events(bill.poll())
                bill.inhibit()
                self.devices.mark(BILL, True)
            except DriverError as err:
                self.devices.mark(BILL, False, str(err))
        if coin is not None:
            try:
                coin.read_coin_ids()
                coin.disable()
                coin.poll()
                self.devices.mark(COIN, True)
            except DriverError as err:
                self.devices.mark(COIN, False, str(err))

    def _accept_note(self, amount: int) -> bool:
        """The escrow policy: stack a note only while the session's limit allows it."""
        if amount not in self.settings.accepted_notes:
            return False
        within = self._view.inserted + amount <= self.settings.max_cash_per_session
        if not within:
            self._say("limit_reached")
        return within

    def _enable_cash(self) -> None:
        bill, coin = self.devices.bill, self.devices.coin
        notes = coins = False
        if bill is not None and self.devices.ok(BILL):
            try:
                bill.enable(self.settings.accepted_notes)
                bill.poll()
                notes = True
            except DriverError as err:
                self.devices.mark(BILL, False, str(err))
        if coin is not None and self.devices.ok(COIN):
            try:
                coin.enable()
                coins = True
            except DriverError as err:
                self.devices.mark(COIN, False, str(err))
        self._set(notes_accepted=notes, coins_accepted=coins)

    def _disable_cash(self) -> None:
        bill, coin = self.devices.bill, self.devices.coin
        if bill is not None and self.devices.ok(BILL):
            try:
                bill.inhibit()
            except DriverError as err:
                self.devices.mark(BILL, False, str(err))
        if coin is not None and self.devices.ok(COIN):
            try:
                coin.disable()
            except DriverError as err:
                self.devices.mark(COIN, False, str(err))
        self._set(notes_accepted=False, coins_accepted=False)

    def _drain_cash(self) -> None:
        """Before closing: a note already in escrow or being stacked still counts."""
        bill = self.devices.bill
        for _ in range(10):
            self._poll_cash()
            if bill is None or bill.status not in NOTE_IN_FLIGHT:
                break
            time.sleep(0.05)

    def _stop_cash(self, *, reason: str) -> None:
        self._disable_cash()
        if self._session and self._session.cash_id:
            self.journal.close_session(self._session.cash_id, reason)
            self._session.cash_id = ""
        self._set(cash_active=False, inserted=0, stacked=())

    def _poll_cash(self) -> None:
        bill, coin = self.devices.bill, self.devices.coin
        if bill is not None and self.devices.ok(BILL):
            try:
                self._bill_events(bill.poll())
            except DriverError as err:
                self.devices.mark(BILL, False, str(err))
                self._set(notes_accepted=False)
                self._say("notes_unavailable")
        if coin is not None and self.devices.ok(COIN):
            try:
                self._coin_events(coin.poll())
            except DriverError as err:
                self.devices.mark(COIN, False, str(err))
                self._set(coins_accepted=False)
                self._say("coins_unavailable")

    def _stacked(self, amount: int, device: str, **detail: Any) -> None:
        session = self._session
        if session is None or not session.cash_id:
            # Money with no session (it cannot happen while inhibited): keep it for
            # the technician's reconciliation rather than guess whose it is.
            self.journal.append("cash_unattributed", {"amount": amount, "device": device})
            log.error("%s credited %d with no cash session", device, amount)
            return
        self.journal.append(
            "cash_in", {"amount": amount, "device": device, **detail}, session=session.cash_id
        )
        session.stacked.append(amount)
        total = sum(session.stacked)
        self._set(inserted=total, stacked=tuple(session.stacked), cue=self._view.cue + 1)
        if self._view.message in ("no_change", "note_refused", "note_returned", "coin_refused"):
            self._say("no_change")
        self._touch()
        if total >= self.settings.max_cash_per_session:
            self._say("limit_reached")
            self._disable_cash()
        elif self._view.target and total >= self._view.target:
            self.finish()

    def _bill_events(self, events: list[BillEvent]) -> None:
        for event in events:
            if event.kind == BillEventKind.CREDITED and event.amount is not None:
                self._stacked(event.amount, BILL)
            elif event.kind == BillEventKind.REJECTED:
                self._say("note_refused")
                self._touch()
            elif event.kind == BillEventKind.RETURNED:
                if self._view.message != "limit_reached":
                    self._say("note_returned")
                self._touch()
            elif event.kind == BillEventKind.FAULT:
                if event.code == "cassette_removed" and not self._view.cash_active:
                    self._collect_cash()
                self.devices.mark(BILL, False, event.detail or event.code)
                self._set(notes_accepted=False)
                self._say("cash_box_full" if event.code == "cassette_full" else "notes_unavailable")
            elif event.kind == BillEventKind.FAULT_CLEARED:
                self.devices.mark(BILL, True)
            elif event.kind == BillEventKind.UNCERTAIN:
                self.journal.append("cash_uncertain", {"device": BILL, "detail": event.detail})
                log.error("bill acceptor: %s", event.detail)

    def _coin_events(self, events: list[CoinEvent]) -> None:
        coin = self.devices.coin
        for event in events:
            if event.kind == CoinEventKind.CREDITED and event.amount is not None:
                counter = coin.last_counter if coin else None
                self._stacked(event.amount, COIN, counter=counter)
            elif event.kind == CoinEventKind.REJECTED:
                self._say("coin_refused")
            elif event.kind == CoinEventKind.FAULT:
                self.devices.mark(COIN, False, event.detail)
                self._set(coins_accepted=False)
                self._say("coins_unavailable")
            elif event.kind == CoinEventKind.EVENTS_LOST:
                self.journal.append("cash_uncertain", {"device": COIN, "lost": event.code})

    def _collect_cash(self) -> None:
        """The cassette was pulled: close the cash-box period and print its count.

        The back office counts the cassette and enters its count on the server;
        any over or short is posted there against this count.
        """
        seq, counts = self.journal.collect_cash(BILL, currency=self.settings.currency)
        total = sum(amount * n for amount, n in counts.items())
        currency = self.settings.currency
        lines = [
            "Cash collection",
            f"Terminal {self.settings.terminal_id}",
            f"Date     {self._local_time()}",
        ]
        for amount, n in sorted(counts.items()):
            value = Money(amount * n, currency).format()
            lines.append(f"{Money(amount, currency).format():>12} x {n:<4} {value:>14}")
        lines.append(f"Total    {Money(total, currency).format()}")
        log.info("cash box collected: %s", Money(total, currency).format())
        self._set(cash_counts=())
        printer = self.devices.printer
        if printer is not None and self.devices.ok(PRINTER):
            reference = f"{self.settings.terminal_id}-{seq:06d}"
            result = printer.print_receipt(Receipt(reference, self.settings.estate_name, lines))
            self.devices.mark(PRINTER, result.printed, result.reason)

    def _recover_open_sessions(self) -> None:
        for open_session in self.journal.open_sessions():
            if not open_session.stacked:
                self.journal.close_session(open_session.session, "recovered empty")
                continue
            entry = self.journal.record_top_up(
                unit=open_session.unit,
                wallet=open_session.wallet,
                amount=open_session.total,
                currency=self.settings.currency,
                method="cash",
                session=open_session.session,
                detail={"notes_and_coins": list(open_session.stacked), "recovered": True},
            )
            log.warning(
                "recovered cash session %s: %s credited to %s",
                open_session.session,
                Money(entry.amount, entry.currency).format(),
                open_session.unit,
            )
