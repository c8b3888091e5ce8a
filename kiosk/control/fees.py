"""Property fees: an open bill (or its next instalment) paid from the property-fee wallet."""

from __future__ import annotations

import logging

from domain.money import Money
from kiosk.control.overview import HouseholdOverview
from kiosk.control.receipts import Receipts
from kiosk.gateway import CentralRefused, CentralUnavailable
from kiosk.view import Screen

log = logging.getLogger(__name__)


class FeePayment(Receipts, HouseholdOverview):
    """Paid on the server, so online only; a failure reads the overview again, a
    payment made gets its receipt."""

    def choose_bill(self, bill_id: int) -> None:
        """A bill's row on the overview: ask to confirm paying it (or its next instalment)."""
        bill = next((b for b in self._view.bills if b.bill_id == bill_id), None)
        if self._session is None or self._view.screen != Screen.OVERVIEW or bill is None:
            return
        self._set(confirm_bill=bill, message="")
        self._touch()

    def pay_bill(self) -> None:
        """Pay the confirmed bill from the household's property-fee wallet.

        The intent is journalled (with its idempotency key) before the server is
        asked, and the outcome after; a retry with the same key pays once.
        """
        session, bill = self._session, self._view.confirm_bill
        if session is None or bill is None or self._view.screen != Screen.OVERVIEW:
            return
        body = {
            "unit": session.unit,
            "bill_id": bill.bill_id,
            "what": bill.what,
            "amount": bill.due_now,
            "method": "wallet",
            "card": session.card,
        }
        seq = self.journal.append("fee_payment", body)
        key = f"{self.settings.terminal_id}:{self.journal.journal_id}:{seq}"
        request = (bill.bill_id, bill.what, bill.due_now)
        if session.fee_retry is not None and session.fee_retry[0] == request:
            key = session.fee_retry[1]  # the same payment again: the server applies it once
        session.fee_retry = None
        try:
            paid = self.gateway.pay_bill(
                key=key,
                bill_id=bill.bill_id,
                unit=session.unit,
                what=bill.what,
                expected=bill.due_now,
                method="wallet",
                source=self.settings.terminal_id,
            )
        except (CentralUnavailable, CentralRefused) as err:
            refused = isinstance(err, CentralRefused)
            code = err.code if isinstance(err, CentralRefused) else "unavailable"
            log.warning("fee payment %s not made: %s", key, err)
            self.journal.append("fee_payment_failed", {"payment": seq, "key": key, "reason": code})
            if not refused:  # it may have been applied: the next try reuses the key
                session.fee_retry = (request, key)
            self._load_wallets()  # the bill as it is now: changed, or paid meanwhile
            again = next((b for b in self._view.bills if b.bill_id == bill.bill_id), None)
            if not refused and again is not None and again.what == "next_instalment":
                # An instalment paid without an answer leaves the next one at the same
                # amount: the retry's key finds the first payment, not a second one.
                session.fee_retry = ((again.bill_id, again.what, again.due_now), key)
            self._set(confirm_bill=again)
            self._say("fee_failed" if refused else "fee_no_answer")
            self._touch()
            return
        self.journal.append(
            "fee_paid",
            {
                "payment": seq,
                "key": key,
                "transaction_id": paid.transaction_id,
                "remaining": paid.remaining,
            },
        )
        currency = self.settings.currency
        lines = [
            self.settings.legal_name,
            f"Tax no.  {self.settings.tax_number}",
            f"Receipt  {self.settings.terminal_id}-{seq:06d}",
            f"Date     {self._local_time()}",
            f"Unit     {session.unit}",
            f"Fee      {bill.period} (bill {bill.bill_id})",
        ]
        if paid.instalment is not None:
            lines.append(f"Part     {paid.instalment[0]} of {paid.instalment[1]}")
        lines += [
            f"Amount   {Money(paid.paid, currency).format()}",
            "Payment  property_fee wallet",
            f"Owed     {Money(paid.remaining, currency).format()}",
        ]
        if session.card:
            lines.append(f"Card     {session.card}")
        if paid.balance_after is not None:
            lines.append(f"Balance  {Money(paid.balance_after, currency).format()}")
        self._show_receipt(
            seq=seq,
            wallet="property_fee",
            amount=paid.paid,
            method="wallet",
            balance_after=paid.balance_after,
            lines=lines,
            bill_id=bill.bill_id,
        )
