"""What every part of the kiosk controller shares: its state, the intents in, the view out.

The controller (:class:`kiosk.controller.KioskController`) is assembled from the
classes of :mod:`kiosk.control`, one flow each; they all build on
:class:`ControllerCore`, which holds the settings, devices, journal and server,
the resident's :class:`Session`, and the :class:`KioskView` it publishes to the
screens after each step.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from kiosk.devices import BILL, CARD, COIN, Devices
from kiosk.gateway import CentralGateway, WalletBalance
from kiosk.journal import KioskJournal
from kiosk.payments import CallbackServer, CallbackVerifier, ProviderClient
from kiosk.settings import KioskSettings
from kiosk.tokens import QrTokenVerifier
from kiosk.view import KioskView, Screen


@dataclass
class Session:
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


def server_credential(held: str) -> dict[str, str]:
    if held.startswith("qr:"):
        return {"kind": "qr", "token": held[3:]}
    return {"kind": "card", "hash": held}


class ControllerCore:
    """The controller's state; screens reach it through ``submit`` and ``subscribe`` only."""

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
        self._session: Session | None = None
        self._last_activity = clock()
        self._next_sync = 0.0
        self._next_credentials = 0.0
        # The estate's currency as the server's snapshot gives it ("" before any):
        # a kiosk set up for another takes no payments (they could never be applied).
        self._estate_currency = ""
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
        return not (can_identify and can_pay) or self._wrong_currency()

    def _wrong_currency(self) -> bool:
        return bool(self._estate_currency) and self._estate_currency != self.settings.currency

    def submit(self, intent: str, **args: Any) -> None:
        """From the screens (any thread): run ``intent`` on the controller's thread."""
        self._intents.put((intent, args))
        self._wake.set()

    def _touch(self) -> None:
        self._last_activity = self.clock()
