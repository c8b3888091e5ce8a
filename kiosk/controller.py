"""The kiosk controller: owns the devices, the journal and the server; screens only show.

One thread calls :meth:`KioskController.step` a few times a second: it runs the
intents the screens queued (``submit``), polls the devices the current screen
needs, enforces the timeouts and pushes pending top-ups to the server. After
each step, listeners get the new :class:`KioskView` (an immutable snapshot) when
it changed. Tests call ``step`` and the intent methods directly, without a window.

Money rules (DESIGN.md): a note counts only on the acceptor's vend valid (the
driver's ``CREDITED``), a coin on the acceptor's credit event; each is
journalled before the counter on screen moves; "finish" (or a timeout, or the
next start after a crash) journals one top-up of everything stacked, then tells
the server; offline, it stays pending and the sync applies it later, once, by
its idempotency key.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from domain.money import Money
from kiosk.devices import BILL, CARD, COIN, PRINTER, Devices
from kiosk.gateway import (
    CentralGateway,
    CentralRefused,
    CentralUnavailable,
    OpenBill,
    WalletBalance,
)
from kiosk.journal import KioskJournal, StaffCard, TopUpEntry
from kiosk.payments import CallbackServer, CallbackVerifier, ProviderClient, ProviderUnavailable
from kiosk.settings import KioskSettings
from kiosk.tokens import QrTokenVerifier, ereceipt_token
from kiosk.view import (
    TOP_UP_WALLETS,
    WALLET_ORDER,
    BillView,
    DeviceCheckView,
    KioskView,
    QrOrderView,
    ReceiptView,
    Screen,
    WalletState,
    WalletView,
    mask_card,
    wallet_state,
)
from terminal_drivers.bill_acceptor.codes import FAULTS, Status
from terminal_drivers.bill_acceptor.device import BillEvent, BillEventKind
from terminal_drivers.card_reader.errors import (
    CardNotGenuine,
    CardNotSupported,
    CardRemoved,
    NoCard,
    ReaderUnavailable,
)
from terminal_drivers.card_reader.estate_app import Assurance
from terminal_drivers.coin_acceptor.device import CoinEvent, CoinEventKind
from terminal_drivers.errors import CommunicationError, DriverError
from terminal_drivers.receipt_printer.device import Receipt
from terminal_drivers.self_test import SelfTestResult

log = logging.getLogger(__name__)

CREDENTIAL_REFRESH_S = 300.0
# Technician mode opens from a screen nobody is using: never over a resident's session.
TECHNICIAN_FROM = (Screen.IDLE, Screen.IDENTIFY, Screen.OUT_OF_SERVICE)
# A note between the slot and the cash box: "finish" waits for its vend valid or return.
NOTE_IN_FLIGHT = {
    Status.ACCEPTING,
    Status.ESCROW,
    Status.HOLDING,
    Status.STACKING,
    Status.VEND_VALID,
}


@dataclass
class _Session:
    """Who is at the kiosk now; gone when the screen goes back to idle."""

    unit: str
    card: str
    method: str  # "card" or "qr"
    # What the server checks before it shows the balances: the card's keyed hash (as
    # the snapshot knows it), or "qr:<token>" for a resident's QR token.
    credential: str = ""
    wallets: list[WalletBalance] = field(default_factory=list)
    balances_at: datetime | None = None
    cash_id: str = ""
    stacked: list[int] = field(default_factory=list)
    # A fee payment the server may have taken without answering: (bill, what, amount) and
    # its idempotency key, reused by the next try so that it pays once.
    fee_retry: tuple[tuple[int, str, int], str] | None = None


GENERIC_ADVICE = "fix what the message says, then run 'prepaid provision doctor' again"


def _verdict(reason: str, advice: str) -> tuple[str, str]:
    """The doctor's (reason, advice) as the technician screen says them.

    A driver that knows what to do says so after a colon ("the printer is out of
    paper: load a new roll"); provisioning then gives no advice of its own, or only
    its generic one. That tail becomes the advice, so every failure has a next step.
    """
    if advice and advice != GENERIC_ADVICE:
        return reason, advice
    cause, colon, step = reason.rpartition(": ")
    if colon and cause and step and not step[0].isdigit():
        return cause, step
    return reason, (advice or GENERIC_ADVICE).replace(
        "run 'prepaid provision doctor' again", "run the doctor again"
    )


def _credential(held: str) -> dict[str, str]:
    if held.startswith("qr:"):
        return {"kind": "qr", "token": held[3:]}
    return {"kind": "card", "hash": held}


class KioskController:
    def __init__(
        self,
        settings: KioskSettings,
        *,
        gateway: CentralGateway,
        journal: KioskJournal,
        devices: Devices,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.gateway = gateway
        self.journal = journal
        self.devices = devices
        self.clock = clock
        self.wall = wall
        self.qr = QrTokenVerifier(settings.qr_token_key)
        # Signs e-receipt references when no QR key is set: nothing about the person.
        self._receipt_key = hashlib.sha256(
            b"ereceipt:" + settings.card_master_key + settings.terminal_id.encode()
        ).digest()
        self._intents: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._wake = threading.Event()  # set by ``submit``: a touch does not wait a period
        self._listeners: list[Callable[[KioskView], None]] = []
        self._view = KioskView(
            estate_name=settings.estate_name,
            estate_phone=settings.estate_phone,
            notices=settings.notices,
            currency=settings.currency,
            language=settings.languages[0],
            preset_amounts=settings.preset_amounts,
            limit=settings.max_cash_per_session,
        )
        self._published: KioskView | None = None
        self._session: _Session | None = None
        self._last_activity = clock()
        self._next_sync = 0.0
        self._next_credentials = 0.0
        self._next_health = 0.0
        self._cash_ready = False
        self.provider: ProviderClient | None = None
        self.callbacks: CallbackServer | None = None
        self._qr_deadline = 0.0
        if settings.payment_provider_url and settings.payment_secret:
            self.provider = ProviderClient(
                settings.payment_provider_url, name=settings.payment_provider_name
            )
            self.callbacks = CallbackServer(
                CallbackVerifier(settings.payment_secret),
                lambda order, amount, ref: self.submit(
                    "payment_notified", order_id=order, amount=amount, ref=ref
                ),
                host=settings.callback_host,
                port=settings.callback_port,
            )

    # -- the view ---------------------------------------------------------------------
    @property
    def view(self) -> KioskView:
        return self._view

    def subscribe(self, listener: Callable[[KioskView], None]) -> None:
        self._listeners.append(listener)

    def _set(self, **changes: Any) -> None:
        self._view = replace(self._view, **changes)

    def _say(self, message: str, **args: str) -> None:
        self._set(message=message, message_args=tuple(sorted(args.items())))

    def _publish(self) -> None:
        view = replace(
            self._view,
            devices=tuple(self.devices.health.values()),
            card_identification=self.devices.ok(CARD),
            qr_identification=bool(self.settings.qr_token_key),
        )
        if self._view.screen == Screen.IDLE and self._out_of_service():
            view = replace(view, screen=Screen.OUT_OF_SERVICE)
        elif self._view.screen == Screen.OUT_OF_SERVICE and not self._out_of_service():
            view = replace(view, screen=Screen.IDLE)
        self._view = view
        if view != self._published:
            self._published = view
            for listener in self._listeners:
                listener(view)

    def _out_of_service(self) -> bool:
        can_identify = self.devices.ok(CARD) or bool(self.settings.qr_token_key)
        can_pay = self.devices.ok(BILL) or self.devices.ok(COIN)
        return not (can_identify and can_pay)

    # -- the loop ---------------------------------------------------------------------
    def submit(self, intent: str, **args: Any) -> None:
        """From the screens (any thread): run ``intent`` on the controller's thread."""
        self._intents.put((intent, args))
        self._wake.set()

    def start(self) -> None:
        """Bring the devices up, credit any cash session a crash left open, go idle."""
        if self.callbacks is not None:
            self.callbacks.start()
        self._prepare_cash_devices()
        self._recover_open_sessions()
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

    def _touch(self) -> None:
        self._last_activity = self.clock()

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

    # -- intents ------------------------------------------------------------------------
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

    def qr_scanned(self, text: str) -> None:
        """A resident's QR code from the scanner (or the camera)."""
        if self._view.screen not in (Screen.IDLE, Screen.IDENTIFY, Screen.OUT_OF_SERVICE):
            return
        unit, reason = self.qr.verify(text, self.wall())
        if unit is None:
            log.warning("QR identification refused: %s", reason)
            self.journal.append("identify_refused", {"method": "qr", "reason": reason})
            self._set(screen=Screen.IDENTIFY)
            self._say(reason)
            self._touch()
            return
        self._identified(unit, card="", method="qr", credential=f"qr:{text.strip()}")

    def card_read(self, card_number: str) -> None:
        """A genuine card's number (the reader did the challenge and response)."""
        staff = self.journal.find_staff_card(card_number)
        if staff is not None:  # a staff card never opens a household
            self._staff_card(staff)
            return
        found = self.journal.find_card(card_number)
        masked = mask_card(card_number)
        if found is None or found[1] != "active":
            reason = "card_unknown" if found is None else f"card_{found[1]}"
            log.warning("card %s refused: %s", masked, reason)
            self.journal.append(
                "identify_refused", {"method": "card", "card": masked, "reason": reason}
            )
            self._set(screen=Screen.IDENTIFY)
            self._say(reason)
            self._touch()
            return
        digest = self.journal.card_hash(card_number) or ""
        self._identified(found[0], card=masked, method="card", credential=digest)

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
        self._set(usage_wallet="")
        self._set(screen=Screen.TOP_UP, selected_wallet=wallet, target=amount, inserted=0)
        # QR payment needs the provider and so the network (DESIGN.md): not offered offline.
        self._set(qr_payment=self.provider is not None and self._view.online)
        self._say("no_change")
        self._touch()

    def start_cash(self) -> None:
        session = self._session
        if session is None or self._view.screen != Screen.TOP_UP or self._view.cash_active:
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

    # -- QR / mobile payment ---------------------------------------------------------
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

    def technician(self, pin: str) -> None:
        """The hidden gesture's PIN pad."""
        if self._view.screen not in TECHNICIAN_FROM:
            return  # nobody's session is cut short for the technician
        if not self.settings.technician_pin or pin != self.settings.technician_pin:
            log.warning("technician PIN refused")
            self.journal.append("technician_refused", {})
            self._say("pin_wrong")
            return
        self._open_technician({"method": "pin"}, card_id=0)

    def _staff_card(self, card: StaffCard) -> None:
        """A genuine staff card: an active technician's opens technician mode; a lost or
        revoked one is refused and said so, as a resident's card is."""
        if self._view.screen not in TECHNICIAN_FROM:
            return
        if not card.opens_technician_mode:
            reason = f"card_{card.status}" if card.status in ("lost", "revoked") else "card_revoked"
            log.warning("staff card %d refused: %s", card.card_id, reason)
            self.journal.append(
                "identify_refused",
                {"method": "staff_card", "staff_card": card.card_id, "reason": reason},
            )
            self._set(screen=Screen.IDENTIFY)
            self._say(reason)
            self._touch()
            return
        log.info("technician mode opened by staff card %d", card.card_id)
        self._open_technician({"method": "staff_card", "staff_card": card.card_id}, card.card_id)

    def _open_technician(self, how: dict[str, Any], card_id: int) -> None:
        # Journalled by the card's id only: the holder's name stays on the server.
        self.journal.append("technician_in", how)
        self._set(
            screen=Screen.TECHNICIAN,
            backlog=self.journal.backlog(),
            cash_counts=tuple(sorted(self.journal.cash_by_denomination().items())),
            technician_card=card_id,
            doctor=(),
            message="",
            message_args=(),
        )
        self._touch()

    def doctor(self) -> None:
        """The technician's doctor: every device's self-test, with what to do.

        The kiosk's own devices are tested over the lines the kiosk already holds
        (the driver's status query, as ``prepaid provision doctor`` runs it): a port
        is never opened twice and a reader's card state is not disturbed. A device
        the kiosk could not open is held by nobody, so the doctor opens its URL as
        the provisioning doctor does. Runs outside a cash session only.
        """
        if self._view.screen != Screen.TECHNICIAN or self._view.cash_active:
            log.warning("doctor refused outside technician mode (screen %s)", self._view.screen)
            return
        self._check_devices()  # the kiosk's own verdict first: a device back is used again
        checks = tuple(self._doctor_check(name) for name in (BILL, COIN, PRINTER, CARD))
        fitted = [c for c in checks if c.fitted]
        ok = sum(c.ok for c in fitted)
        self.journal.append(
            "doctor", {c.name: ("ok" if c.ok else c.reason or "failed") for c in fitted}
        )
        self._set(doctor=checks, backlog=self.journal.backlog())
        self._say("doctor_done", ok=str(ok), count=str(len(fitted)))
        self._touch()

    def _doctor_check(self, name: str) -> DeviceCheckView:
        from provisioning.doctor import advice_for, check_device

        url = {
            BILL: self.settings.bill_acceptor_url,
            COIN: self.settings.coin_acceptor_url,
            PRINTER: self.settings.printer_url,
            CARD: self.settings.card_reader_url,
        }[name]
        device: Any = {
            BILL: self.devices.bill,
            COIN: self.devices.coin,
            PRINTER: self.devices.printer,
            CARD: self.devices.card,
        }[name]
        health = self.devices.health[name]
        if device is None and not url:
            return DeviceCheckView(name, False, False, name, "", "", in_use=False)
        if device is None:
            found = check_device(name, url)
            reason, advice = _verdict(found.reason, found.advice) if not found.ok else ("", "")
            return DeviceCheckView(
                name, True, found.ok, found.device, reason, advice,
                tuple(sorted(found.details.items())), in_use=False,
            )  # fmt: skip
        url = url or str(getattr(device, "url", ""))
        try:
            result: SelfTestResult = device.self_test()
        except (DriverError, CommunicationError, OSError) as err:
            result = SelfTestResult(name, url, False, str(err))
        reason, advice = (
            ("", "") if result.ok else _verdict(result.reason, advice_for(result.reason, url))
        )
        return DeviceCheckView(
            name, True, result.ok, result.device, reason, advice,
            tuple(sorted((k, str(v)) for k, v in result.details.items())), in_use=health.ok,
        )  # fmt: skip

    def test_receipt(self) -> None:
        """A receipt that names this kiosk, the time, each device's state and the backlog."""
        if self.devices.printer is None or self._view.screen != Screen.TECHNICIAN:
            return
        reference = f"{self.settings.terminal_id}-TEST"
        lines = [
            "Test receipt",
            self._local_time(),
            f"Terminal {self.settings.terminal_id}",
            *(
                f"{h.name:<14} {'OK' if h.ok else 'not fitted' if not h.fitted else 'FAILED'}"
                for h in self.devices.health.values()
            ),
            f"Backlog  {self.journal.backlog()}",
        ]
        result = self.devices.printer.print_receipt(
            Receipt(reference, self.settings.estate_name, lines)
        )
        self.devices.mark(PRINTER, result.printed, result.reason)
        self.journal.append("test_receipt", {"printed": result.printed, "problem": result.problem})
        self._set(backlog=self.journal.backlog())
        self._say("test_printed" if result.printed else "test_not_printed")
        self._touch()

    # -- identification ---------------------------------------------------------------
    def _poll_card(self) -> None:
        reader = self.devices.card
        if reader is None or not self.devices.ok(CARD):
            return
        try:
            # Short: intents queued meanwhile wait for this call to return.
            reading = reader.wait_for_tap(0.02)
        except CardNotGenuine:
            log.warning("a card failed authentication (clone or relay)")
            self.journal.append("identify_refused", {"method": "card", "reason": "card_clone"})
            self._set(screen=Screen.IDENTIFY)
            self._say("card_clone")
            self._touch()
            return
        except (CardRemoved, NoCard):
            self._set(screen=Screen.IDENTIFY)
            self._say("card_removed")
            self._touch()
            return
        except CardNotSupported:
            self._low_assurance("")
            return
        except (ReaderUnavailable, DriverError) as err:
            self.devices.mark(CARD, False, str(err))
            return
        if reading is None:
            return
        if reading.assurance != Assurance.HIGH or not reading.card_number:
            self._low_assurance(reading.uid_hex)
            return
        self.card_read(reading.card_number)

    def _low_assurance(self, uid: str) -> None:
        log.warning("low-assurance card refused at the kiosk")
        self.journal.append(
            "identify_refused", {"method": "card", "reason": "card_low_assurance", "uid": uid[-4:]}
        )
        self._set(screen=Screen.IDENTIFY)
        self._say("card_low_assurance")
        self._touch()

    def _identified(self, unit: str, *, card: str, method: str, credential: str = "") -> None:
        self.journal.append("identified", {"unit": unit, "method": method, "card": card})
        self._session = _Session(unit=unit, card=card, method=method, credential=credential)
        self._set(screen=Screen.OVERVIEW, unit=unit, card=card, message="", receipt=None)
        self._load_wallets()
        self._touch()

    def _load_wallets(self) -> None:
        session = self._session
        if session is None:
            return
        try:
            if not session.credential:
                raise CentralUnavailable("no credential the server can check")
            session.wallets = self.gateway.wallets(
                session.unit, credential=_credential(session.credential)
            )
            session.balances_at = datetime.now(UTC)
            self.journal.cache_wallets(session.unit, session.wallets)
            self._set(online=True)
        except CentralUnavailable as err:
            log.warning("balances of %s from the snapshot: %s", session.unit, err)
            if session.credential:
                self._set(online=False)
            session.wallets, session.balances_at = self._offline_wallets(session.unit)
        except CentralRefused as err:
            log.error("server refused the wallets of %s: %s", session.unit, err)
            session.wallets, session.balances_at = [], None
        self._set(wallets=self._wallet_views(), balances_at=session.balances_at)
        self._set(last_top_up=self._last_top_up(session.unit))
        self._load_bills()

    def _offline_wallets(self, unit: str) -> tuple[list[WalletBalance], datetime | None]:
        """The last wallets read online, else the snapshot's available money."""
        cached = self.journal.cached_wallets(unit)
        if cached:
            return cached
        held = self.journal.snapshot()
        if held is None:
            return [], None
        found = held.data.get("balances", {}).get(unit, {})
        wallets = [
            WalletBalance(purpose, self.settings.currency, int(v), int(v), 0)
            for purpose, v in found.items()
        ]
        at = datetime.fromtimestamp(held.version / 1000, UTC) if wallets else None
        return wallets, at

    def _load_bills(self) -> None:
        """The open fee bills: paid from the wallet on the server, so shown only online."""
        session = self._session
        if session is None:
            return
        found: list[OpenBill] = []
        if self._view.online:
            try:
                found = self.gateway.open_bills(session.unit)
            except (CentralUnavailable, CentralRefused) as err:
                log.warning("cannot read the bills of %s: %s", session.unit, err)
        bills = tuple(
            BillView(b.bill_id, b.period, b.outstanding, b.due_on, b.next_instalment) for b in found
        )
        self._set(bills=bills, confirm_bill=None)

    # -- property fees ------------------------------------------------------------------
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

    def _wallet_views(self) -> tuple[WalletView, ...]:
        session = self._session
        if session is None:
            return ()
        known = {w.purpose: w for w in session.wallets}
        views = []
        for purpose in WALLET_ORDER:
            pending = self.journal.pending_total(session.unit, purpose)
            w = known.get(purpose)
            if w is None:
                if session.wallets:
                    continue  # the unit has no such wallet
                views.append(WalletView(purpose, None, None, WalletState.UNKNOWN, pending))
                continue
            state = wallet_state(w.balance, w.available, self.settings.low_balance, purpose)
            if w.supply == "limited":
                state = WalletState.LIMITED
            views.append(
                WalletView(
                    purpose,
                    w.balance,
                    w.available,
                    state,
                    pending,
                    days_left=w.days_left,
                    supply=w.supply or "",
                    restore_pending=w.restore_pending,
                    spend_by_day=w.spend_by_day,
                    last_top_up_on=w.last_top_up.at[:10] if w.last_top_up else "",
                    last_top_up_amount=w.last_top_up.amount if w.last_top_up else 0,
                )
            )
        return tuple(views)

    def _last_top_up(self, unit: str) -> tuple[str, int] | None:
        entries = self.journal.top_ups_of(unit)
        return (entries[-1].wallet, entries[-1].amount) if entries else None

    # -- cash ---------------------------------------------------------------------------
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

    def _check_devices(self) -> None:
        """Outside a cash session: is each failed device back, each good one still there?"""
        bill, coin, printer = self.devices.bill, self.devices.coin, self.devices.printer
        if bill is not None:
            try:
                self._bill_events(bill.poll())
                if bill.status not in FAULTS and not self.devices.ok(BILL):
                    self.devices.mark(BILL, True)
            except DriverError as err:
                self.devices.mark(BILL, False, str(err))
        if coin is not None:
            try:
                coin.simple_poll()
                if not self.devices.ok(COIN):
                    coin.disable()
                    self.devices.mark(COIN, True)
            except DriverError as err:
                self.devices.mark(COIN, False, str(err))
        if printer is not None:
            try:
                status = printer.status()
                self.devices.mark(PRINTER, not status.problem, status.problem)
            except (DriverError, CommunicationError) as err:
                self.devices.mark(PRINTER, False, str(err))
        card = self.devices.card
        if card is not None and not self.devices.ok(CARD):
            result = card.self_test()
            self.devices.mark(CARD, result.ok, result.reason)

    # -- after the money is in the journal ----------------------------------------------
    def _after_top_up(self, entry: TopUpEntry, *, card: str) -> None:
        """The entry is journalled: upload it, and read the wallet's balance after."""
        balance_after: int | None = None
        try:
            self.gateway.sync(self.journal.signed)
            self._set(online=True)
            done = self.journal.top_up(entry.seq)
            if done is not None and done.state == "applied":
                balance_after = self._balance_after(done)
            elif done is not None and done.state == "rejected":
                # The cash is in the box and in the journal: the back office settles it.
                log.error("server refused top-up %s", entry.key)
        except CentralUnavailable as err:
            log.warning("top-up %s pending: %s", entry.key, err)
            self._set(online=False)
        self._print_receipt(entry, card=card, balance_after=balance_after)

    def _balance_after(self, entry: TopUpEntry) -> int | None:
        """The wallet's balance once the server applied ``entry``: read back by the
        credential the resident presented, else from a fresh snapshot."""
        session = self._session
        balance: int | None = None
        try:
            if session is not None and session.unit == entry.unit and session.credential:
                wallets = self.gateway.wallets(
                    entry.unit, credential=_credential(session.credential)
                )
                self.journal.cache_wallets(entry.unit, wallets)
                session.wallets = wallets
                session.balances_at = datetime.now(UTC)
                balance = next((w.balance for w in wallets if w.purpose == entry.wallet), None)
            else:
                snapshot = self.gateway.pull_snapshot(self.journal.snapshots)
                balance = snapshot.available(entry.unit, entry.wallet)
        except (CentralUnavailable, CentralRefused) as err:
            log.warning("balance after top-up %s not read: %s", entry.key, err)
        if balance is not None:
            self.journal.remember_balance(
                entry.seq, transaction_id=entry.transaction_id, balance_after=balance
            )
        return balance

    def _receipt_lines(
        self, entry: TopUpEntry, *, card: str, balance_after: int | None, duplicate: bool
    ) -> list[str]:
        money = Money(entry.amount, entry.currency).format()
        balance = (
            Money(balance_after, entry.currency).format()
            if balance_after is not None
            else "pending"
        )
        lines = [
            self.settings.legal_name,
            f"Tax no.  {self.settings.tax_number}",
            f"Receipt  {self.settings.terminal_id}-{entry.seq:06d}",
            f"Date     {self._local_time(entry.at)}",
            f"Unit     {entry.unit}",
            f"Wallet   {entry.wallet}",
            f"Amount   {money}",
            f"Payment  {entry.method}",
        ]
        if card:
            lines.append(f"Card     {card}")
        lines.append(f"Balance  {balance}")
        if duplicate:
            lines.insert(0, "*** DUPLICATE ***")
        return lines

    def _print_receipt(
        self, entry: TopUpEntry, *, card: str, balance_after: int | None, duplicate: bool = False
    ) -> None:
        lines = self._receipt_lines(
            entry, card=card, balance_after=balance_after, duplicate=duplicate
        )
        self._show_receipt(
            seq=entry.seq,
            wallet=entry.wallet,
            amount=entry.amount,
            method=entry.method,
            balance_after=balance_after,
            lines=lines,
        )

    def _show_receipt(
        self,
        *,
        seq: int,
        wallet: str,
        amount: int,
        method: str,
        balance_after: int | None,
        lines: list[str],
        bill_id: int = 0,
    ) -> None:
        """Print the receipt (or offer the e-receipt code) and show the receipt screen."""
        reference = f"{self.settings.terminal_id}-{seq:06d}"
        url = self.settings.ereceipt_base + ereceipt_token(
            self.settings.qr_token_key or self._receipt_key, self.settings.terminal_id, seq
        )
        printed, problem = False, "printer_failed"
        printer = self.devices.printer
        if printer is not None and self.devices.ok(PRINTER):
            result = printer.print_receipt(
                Receipt(reference, self.settings.estate_name, lines, qr=url, footer="Thank you")
            )
            printed, problem = result.printed, result.problem
            self.devices.mark(PRINTER, result.printed, result.reason)
            what = "fee_payment" if bill_id else "top_up"
            self.journal.append("receipt", {what: seq, "printed": printed, "problem": problem})
        message = (
            "printed" if printed else ("paper_out" if problem == "paper_out" else "printer_failed")
        )
        self._set(
            screen=Screen.RECEIPT,
            receipt=ReceiptView(
                seq=seq,
                reference=reference,
                wallet=wallet,
                amount=amount,
                method=method,
                balance_after=balance_after,
                printed=printed,
                problem="" if printed else problem,
                ereceipt_url=url,
                lines=tuple(lines),
                bill_id=bill_id,
            ),
            inserted=amount,
            confirm_bill=None,
        )
        self._say(message)
        if balance_after is None and not bill_id:
            self._set(message_args=(("pending", "1"),))
        self._touch()

    def reprint(self) -> None:
        receipt = self._view.receipt
        if receipt is None or self._session is None:
            return
        entry = self.journal.top_up(receipt.seq)
        if entry is not None:
            self._print_receipt(
                entry,
                card=self._session.card,
                balance_after=entry.balance_after,
                duplicate=True,
            )

    def _local_time(self, at: datetime | None = None) -> str:
        zone = ZoneInfo(self.settings.timezone)
        local = (at or datetime.now(UTC)).astimezone(zone)
        return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()} ({self.settings.timezone})"

    # -- the server ------------------------------------------------------------------
    def _sync(self) -> None:
        """Upload what the server does not hold yet; each entry applies once, whatever
        happened before (a lost answer is sent again and answered "duplicate")."""
        if self.journal.backlog() == 0:
            if not self._view.online:
                try:
                    self.gateway.health()
                    self._set(online=True)
                except CentralUnavailable:
                    pass
            return
        try:
            result = self.gateway.sync(self.journal.signed)
        except CentralUnavailable as err:
            log.info("journal not uploaded: %s", err)
            self._set(online=False)
            return
        if result.blocked:
            log.error("journal sync blocked: %s", result.blocked)
        self._set(online=True)
        if result.applied and self._session and self._view.screen == Screen.OVERVIEW:
            self._load_wallets()

    def _refresh_credentials(self, *, force: bool = False) -> None:
        """The terminal snapshot: the card directory (keyed hashes) and offline balances."""
        now = self.clock()
        if not force and now < self._next_credentials:
            return
        self._next_credentials = now + CREDENTIAL_REFRESH_S
        try:
            self.gateway.pull_snapshot(self.journal.snapshots)
        except CentralUnavailable:
            self._set(online=False)
            return
        except CentralRefused as err:
            log.error("cannot pull the terminal snapshot: %s", err)
            return
        self._set(online=True)
