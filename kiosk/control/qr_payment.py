"""QR (mobile) payment: an order with the provider, its countdown, and its paid callback."""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace

from kiosk.control.receipts import Receipts
from kiosk.gateway import CentralUnavailable
from kiosk.journal import TopUpEntry
from kiosk.payments import ProviderUnavailable
from kiosk.view import QrOrderView, Screen

log = logging.getLogger(__name__)


class QrPayment(Receipts):
    """A top-up paid through the provider; credited once, however late the callback."""

    def start_qr(self, amount: int) -> None:
        session = self._session
        if (
            session is None
            or self.provider is None
            or self.callbacks is None
            or self._view.screen != Screen.TOP_UP
            or self._view.cash_active
            or self._view.qr_order is not None
            or amount <= 0
            or self._wrong_currency()
        ):
            return
        order_id = f"{self.settings.terminal_id}-{self.journal.journal_id}-{secrets.token_hex(6)}"
        self.journal.open_qr_order(
            order_id=order_id,
            unit=session.unit,
            wallet=self._view.selected_wallet,
            amount=amount,
            currency=self.settings.currency,
        )
        try:
            order = self.provider.create_order(
                order_id=order_id,
                amount=amount,
                currency=self.settings.currency,
                notify_url=self.callbacks.url,
            )
        except ProviderUnavailable as err:
            log.warning("payment provider unavailable: %s", err)
            self.journal.close_qr_order(order_id, "failed")
            self._set(qr_payment=False)
            self._say("qr_unavailable")
            return
        self._qr_deadline = self.clock() + self.settings.qr_payment_timeout_s
        seconds = int(self.settings.qr_payment_timeout_s)
        self._set(qr_order=QrOrderView(order_id, order.qr, amount, seconds), target=amount)
        self._say("qr_pay")
        self._touch()

    def cancel_qr(self) -> None:
        """Close the order with the provider; if the money came first, credit it."""
        order = self._view.qr_order
        if order is None or self.provider is None:
            return
        try:
            answer = self.provider.cancel(order.order_id)
        except ProviderUnavailable as err:
            # The order stays open in the journal: a callback that comes later still credits.
            log.warning("could not cancel order %s: %s", order.order_id, err)
            self._set(qr_order=None, target=0)
            self._say("qr_unavailable")
            return
        if answer.status == "paid":  # the money came first: credit it, with its receipt
            self.payment_notified(order.order_id, order.amount, "")
            return
        self._set(qr_order=None, target=0)
        self.journal.close_qr_order(order.order_id, "cancelled")
        self._say("qr_cancelled")
        self._touch()

    def _qr_tick(self, now: float) -> None:
        order = self._view.qr_order
        if order is None:
            return
        left = max(0, int(self._qr_deadline - now + 0.999))
        if left != order.seconds_left:
            self._set(qr_order=replace(order, seconds_left=left))
        if now >= self._qr_deadline:
            log.info("QR order %s timed out", order.order_id)
            self.cancel_qr()

    def payment_notified(self, order_id: str, amount: int, ref: str) -> None:
        """The provider says paid (a verified callback, or its answer to a cancel)."""
        known = self.journal.qr_order(order_id)
        if known is None:
            log.error("payment for an order this kiosk never made: %s", order_id)
            self.journal.append("qr_unknown_order", {"order_id": order_id, "amount": amount})
            return
        if amount != known["amount"]:
            log.error("order %s paid %d, not %d", order_id, amount, known["amount"])
            self.journal.append(
                "qr_amount_mismatch",
                {"order_id": order_id, "paid": amount, "ordered": known["amount"]},
            )
            return
        entry = self.journal.credit_qr_order(
            order_id, ref, provider=self.settings.payment_provider_name
        )
        if entry is None:
            log.info("order %s: paid again, credited already", order_id)
            return
        current = self._view.qr_order
        waiting = current is not None and current.order_id == order_id
        if waiting and self._session is not None:
            self._set(qr_order=None)
            self._after_top_up(entry, card=self._session.card)
            return
        # Late: the countdown is over and the resident may have gone; the money is
        # still theirs, credited once.
        log.warning("late payment for order %s credited to %s", order_id, entry.unit)
        self._post_quietly(entry)

    def _post_quietly(self, entry: TopUpEntry) -> None:
        try:
            self.gateway.sync(self.journal.signed)
        except CentralUnavailable:
            self._set(online=False)  # the sync applies it later
