"""The kiosk controller: owns the devices, the journal and the server; screens only show.

One thread calls :meth:`KioskController.step` a few times a second: it runs the
intents the screens queued (``submit``), polls the devices the current screen
needs, enforces the timeouts and pushes pending top-ups to the server. After
each step, listeners get the new :class:`KioskView` (an immutable snapshot) when
it changed. Tests call ``step`` and the intent methods directly, without a window.

This module is the loop and the navigation between screens; each flow the loop
drives (identification, cash, QR payment, fees, receipts, the technician, the
server) is a class of its own in :mod:`kiosk.control`, and the controller is
all of them.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable

from kiosk.control.device_checks import DeviceChecks
from kiosk.control.fees import FeePayment
from kiosk.control.identification import Identification
from kiosk.control.qr_payment import QrPayment
from kiosk.control.server_sync import ServerSync
from kiosk.view import TOP_UP_WALLETS, Screen

log = logging.getLogger(__name__)


class KioskController(Identification, FeePayment, QrPayment, ServerSync, DeviceChecks):
    """The controller the screens, the CLI and the tests drive."""

    # -- the loop ---------------------------------------------------------------------
    def start(self) -> None:
        """Bring the devices up, credit any cash session a crash left open, go idle."""
        if self.callbacks is not None:
            self.callbacks.start()
        self._prepare_cash_devices()
        self._recover_open_sessions()
        self._learn_currency(self.journal.snapshot())
        self._refresh_credentials(force=True)
        self._sync()
        self._publish()

    def step(self) -> None:
        while True:
            try:
                intent, args = self._intents.get_nowait()
            except queue.Empty:
                break
            handler = getattr(self, intent, None)
            if handler is None or intent.startswith("_"):
                log.error("unknown intent %r", intent)
                continue
            handler(**args)
        now = self.clock()
        screen = self._view.screen
        if screen == Screen.TOP_UP and self._view.cash_active:
            self._poll_cash()
        if self._view.qr_order is not None:
            self._qr_tick(now)
        elif screen in (Screen.IDLE, Screen.IDENTIFY, Screen.OUT_OF_SERVICE):
            self._poll_card()
        if now >= self._next_health and not self._view.cash_active:
            self._next_health = now + self.settings.health_interval_s
            self._check_devices()
        self._timeouts(now)
        if now >= self._next_sync:
            self._next_sync = now + self.settings.sync_interval_s
            self._sync()
            self._refresh_credentials()
        self._publish()

    def close(self) -> None:
        """Stop what the controller started itself (the payment callback receiver)."""
        if self.callbacks is not None:
            self.callbacks.stop()
            self.callbacks = None
        if self.provider is not None:
            self.provider.close()

    def run(self, stop: Callable[[], bool], period: float = 0.1) -> None:
        """The controller thread's body."""
        self.start()
        while not stop():
            started = time.monotonic()
            try:
                self.step()
            except Exception:  # one bad step must not stop the kiosk; it is logged
                log.exception("controller step failed")
            self._wake.wait(max(0.0, period - (time.monotonic() - started)))
            self._wake.clear()

    def _timeouts(self, now: float) -> None:
        screen, idle = self._view.screen, now - self._last_activity
        if screen == Screen.TOP_UP and self._view.qr_order is None:
            if idle >= self.settings.cash_timeout_s:
                log.info("top-up screen timed out")
                self.finish()  # stacked cash is credited first, with its receipt
                if self._view.screen != Screen.RECEIPT:
                    self.go_idle()
        elif screen == Screen.RECEIPT:
            if idle >= self.settings.receipt_timeout_s:
                self.go_idle()
        elif (
            screen in (Screen.IDENTIFY, Screen.OVERVIEW, Screen.TECHNICIAN)
            and idle >= self.settings.idle_timeout_s
        ):
            self.go_idle()

    # -- moving between screens -------------------------------------------------------
    def set_language(self, language: str) -> None:
        if language in self.settings.languages:
            self._set(language=language)
        self._touch()

    def go_idle(self) -> None:
        if self._view.qr_order is not None:
            self.cancel_qr()
        if self._view.cash_active and self._session and self._session.stacked:
            self.finish()  # stacked cash is always credited first
        elif self._view.cash_active:
            self._stop_cash(reason="left")
        self._session = None
        self._set(
            screen=Screen.IDLE,
            message="",
            message_args=(),
            unit="",
            card="",
            wallets=(),
            receipt=None,
            selected_wallet="",
            inserted=0,
            stacked=(),
            target=0,
            cash_active=False,
            balances_at=None,
            last_top_up=None,
            refused_top_up=None,
            bills=(),
            confirm_bill=None,
            usage_wallet="",
            technician_card=0,
            doctor=(),
        )
        self._touch()

    def back(self) -> None:
        """The screen's back button: top-up -> overview, overview -> idle."""
        if self._view.qr_order is not None:
            self.cancel_qr()
            return
        if self._view.screen == Screen.TOP_UP and self._session:
            if self._session.stacked:
                self.finish()
                return
            if self._view.cash_active:
                self._stop_cash(reason="back")
            self._set(screen=Screen.OVERVIEW, selected_wallet="", message="", target=0)
            self._touch()
        elif self._view.screen == Screen.OVERVIEW and self._view.confirm_bill is not None:
            self._set(confirm_bill=None, message="")
            self._touch()
        elif self._view.screen == Screen.OVERVIEW and self._view.usage_wallet:
            self._set(usage_wallet="")
            self._touch()
        else:
            self.go_idle()

    def show_usage(self, wallet: str) -> None:
        """A wallet's name on the overview: its last week's spend and last top-up."""
        if (
            self._session is None
            or self._view.screen != Screen.OVERVIEW
            or wallet not in {w.purpose for w in self._view.wallets}
        ):
            return
        self._set(usage_wallet=wallet, confirm_bill=None, message="")
        self._touch()

    def choose_wallet(self, wallet: str, amount: int = 0) -> None:
        if self._session is None or wallet not in TOP_UP_WALLETS:
            return
        if self._wrong_currency():
            self._say("payments_unavailable")
            return
        self._set(usage_wallet="")
        self._set(screen=Screen.TOP_UP, selected_wallet=wallet, target=amount, inserted=0)
        # QR payment needs the provider and so the network (DESIGN.md): not offered offline.
        self._set(qr_payment=self.provider is not None and self._view.online)
        self._say("no_change")
        self._touch()
