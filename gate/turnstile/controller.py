"""The turnstile's controller: one credential in, one decision, the passage, the journal.

For each credential (a card, a 125 kHz UID, a QR code):

1. identify it in the snapshot (``Authoriser``) and decide with
   ``domain.facilities.decide_entry``, the function the server uses;
2. refused: journal ``entry_refused`` with the reason and show the message;
3. allowed: journal ``gate_open`` (a gate never opens unjournalled), pulse the
   relay and watch the rotation sensor;
4. someone passed: journal the ``charge`` (or the ``pass_use``) and only then
   say "done"; nobody passed: journal a ``note`` and charge nothing.

The fire-alarm input, checked by ``poll()``, opens every relay and holds it
until the alarm clears; both edges are journalled. The controller owns the
devices and the journal; a display only shows ``Outcome.message``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from domain import facilities as fac
from domain.facilities import Decision, Facility, Method, OpeningHours, Pricing, Refusal
from gate.turnstile.authoriser import Authoriser, Credential, Holder
from terminal_drivers.errors import DriverError

log = logging.getLogger("gate.turnstile")


class JournalLike(Protocol):
    """``offline_queue.journal.Journal`` as the turnstile uses it."""

    def append(self, kind: str, body: dict[str, Any]) -> Any: ...


# A resident's QR token in, ``(unit, "")`` or ``(None, reason)`` out (see
# ``kiosk/tokens.py``, the format the residents' app shows).
QrVerifier = Callable[[str, float], tuple[str | None, str]]


class Board(Protocol):
    """``terminal_drivers.relay_board.RelayBoard`` as the turnstile uses it."""

    def release_one(
        self,
        relay: int,
        *,
        pulse: float = ...,
        timeout: float = ...,
        on_open: Callable[[], None] | None = ...,
    ) -> bool: ...

    def read_inputs(self) -> Any: ...

    def set_all(self, on: bool) -> None: ...


@dataclass(frozen=True)
class Outcome:
    allowed: bool
    passed: bool
    message: str
    reason: str | None = None
    amount: int = 0
    unit: str | None = None
    method: str | None = None
    # Seconds from the credential to the relay confirmed on (the benchmark's figure).
    open_latency_s: float | None = None


@dataclass
class TurnstileSettings:
    terminal_id: str
    facility: Facility
    currency: str = "CNY"
    timezone: str = "Asia/Shanghai"
    relay: int = 1
    pulse_s: float = 0.3
    passage_timeout_s: float = 8.0
    wallet: str = "services"
    extra: dict[str, Any] = field(default_factory=dict)


def priced(facility: Facility, tariffs: dict[str, Any]) -> Facility:
    """``facility`` with the pricing, price and hours of ``tariffs[facility.code]``
    (the server's snapshot for turnstiles); unchanged when there is none or it
    cannot be read, or when it would make the turnstile a per-minute machine."""
    tariff = tariffs.get(facility.code) if isinstance(tariffs, dict) else None
    if not isinstance(tariff, dict):
        return facility
    try:
        pricing = Pricing(tariff.get("pricing", facility.pricing))
        if pricing is Pricing.PER_MINUTE:
            raise ValueError("a per-minute price is not for a turnstile")
        hours = tariff.get("hours")
        return replace(
            facility,
            pricing=pricing,
            price=Decimal(str(tariff.get("price", facility.price))),
            hours=OpeningHours.parse(hours) if hours else facility.hours,
            allow_low_assurance=bool(
                tariff.get("allow_low_assurance", facility.allow_low_assurance)
            ),
        )
    except (ValueError, ArithmeticError) as err:
        log.error(
            "the snapshot's price for %s is unusable (%s): keeping %s",
            facility.code,
            err,
            facility.price,
        )
        return facility


class TurnstileController:
    def __init__(
        self,
        settings: TurnstileSettings,
        *,
        board: Board,
        journal: JournalLike,
        authoriser: Authoriser,
        now: Callable[[], datetime] | None = None,
        qr_verifier: QrVerifier | None = None,
    ) -> None:
        if settings.facility.pricing is Pricing.PER_MINUTE:
            # A laundry machine or a club room runs a session (hold, then capture at
            # the stop): that is a machine controller's job, not a turnstile's.
            raise ValueError(f"{settings.facility.code} is priced per minute: not a turnstile")
        self.settings = settings
        self.board = board
        self.journal = journal
        self.authoriser = authoriser
        zone = ZoneInfo(settings.timezone)
        self.now = now or (lambda: datetime.now(zone))
        self.fire_alarm = False
        self.outcomes: list[Outcome] = []
        self.qr_verifier = qr_verifier
        self._priced_from: dict[str, Any] | None = None
        self._facility = settings.facility

    @property
    def facility(self) -> Facility:
        """The settings' facility, with the prices and hours of the snapshot's
        ``tariffs`` when it carries them (the manager changed a price: the
        turnstile follows at its next snapshot)."""
        snapshot = self.authoriser.snapshot
        if self._priced_from is not snapshot:
            self._priced_from = snapshot
            self._facility = priced(self.settings.facility, snapshot.get("tariffs", {}))
        return self._facility

    # -- the fire alarm --------------------------------------------------------------------
    def poll(self) -> bool:
        """Read the inputs; open and hold everything while the fire alarm is on.
        Returns whether the alarm is on."""
        try:
            inputs = self.board.read_inputs()
        except DriverError as err:
            log.error("relay board unreadable: %s", err)
            return self.fire_alarm
        if inputs.fire_alarm and not self.fire_alarm:
            self.journal.append(
                "gate_open",
                {"facility": self.facility.code, "reason": "fire_alarm", "hold": True},
            )
            self.board.set_all(True)
            self.fire_alarm = True
            log.warning("fire alarm: every turnstile open and held")
        elif not inputs.fire_alarm and self.fire_alarm:
            self.board.set_all(False)
            self.fire_alarm = False
            self.journal.append(
                "note", {"facility": self.facility.code, "event": "fire_alarm_cleared"}
            )
            log.warning("fire alarm cleared: turnstiles closed")
        return self.fire_alarm

    # -- a credential ----------------------------------------------------------------------
    def present(self, credential: Credential, *, at: float | None = None) -> Outcome:
        """Handle one credential; ``at`` is when the reader produced it (monotonic)."""
        started = time.monotonic() if at is None else at
        if self.fire_alarm:
            # Everything is open already; nobody is charged during an evacuation.
            return self._done(Outcome(True, False, "Fire alarm: the way is open"))
        local = self.now()
        today = local.date()
        if credential.kind == "qr" and self.qr_verifier is not None:
            # A resident's token: signed, short-lived, once per turnstile.
            unit, why = self.qr_verifier(credential.value, local.timestamp())
            if unit is None:
                log.info("QR token refused: %s", why)
                return self._refuse(Decision(False, Refusal.QR_INVALID), credential, None)
            credential = Credential("qr-unit", unit, unit=unit)
        holder = self.authoriser.identify(credential, today)
        if isinstance(holder, Refusal):
            return self._refuse(Decision(False, holder), credential, None)
        decision = fac.decide_entry(
            self.facility,
            local_now=local.replace(tzinfo=None),
            currency=self.settings.currency,
            available=holder.available,
            pass_state=holder.pass_state,
            low_assurance=holder.low_assurance,
            spent_today_low_assurance=holder.spent_today_low_assurance,
            inside=holder.inside,
        )
        if not decision.allowed:
            return self._refuse(decision, credential, holder)
        return self._admit(decision, holder, started)

    def leave(self, credential: Credential) -> bool:
        """An exit reader: the pass may enter again (anti-passback). Journalled, so the
        server can close the entry too."""
        inside = self.authoriser.left(credential)
        if inside:
            digest = self.authoriser.credential_hash(credential)
            self.journal.append(
                "note", {"facility": self.facility.code, "event": "exit", "credential": digest}
            )
        return inside

    def _body(self, holder: Holder | None, credential_hash: str | None) -> dict[str, Any]:
        return {
            "facility": self.facility.code,
            "unit": holder.unit if holder else None,
            "credential": credential_hash,
            "low_assurance": bool(holder and holder.low_assurance),
            "online": self.authoriser.online,
        }

    def _refuse(self, decision: Decision, credential: Credential, holder: Holder | None) -> Outcome:
        assert decision.reason is not None
        digest = holder.credential_hash if holder else self.authoriser.credential_hash(credential)
        self.journal.append(
            "entry_refused", {**self._body(holder, digest), "reason": decision.reason.value}
        )
        log.info("refused %s: %s", holder.unit if holder else "unknown", decision.reason)
        return self._done(
            Outcome(
                False,
                False,
                decision.message,
                reason=decision.reason.value,
                unit=holder.unit if holder else None,
            )
        )

    def _admit(self, decision: Decision, holder: Holder, started: float) -> Outcome:
        body = self._body(holder, holder.credential_hash)
        method = decision.method.value if decision.method else None
        self.journal.append("gate_open", {**body, "reason": "entry", "method": method})
        opened: list[float] = []
        try:
            passed = self.board.release_one(
                self.settings.relay,
                pulse=self.settings.pulse_s,
                timeout=self.settings.passage_timeout_s,
                on_open=lambda: opened.append(time.monotonic()),
            )
        except DriverError as err:
            # The board failed mid-passage: whether anyone passed is unknown, so
            # nothing is charged; the note tells the reconciliation why.
            log.error("relay board failed during an entry: %s", err)
            self.journal.append(
                "note", {**body, "event": "relay_failed", "method": method, "error": str(err)}
            )
            return self._done(
                Outcome(
                    False,
                    False,
                    "Out of order: please use another entrance",
                    reason="device_failure",
                    unit=holder.unit,
                )
            )
        latency = opened[0] - started if opened else None
        if not passed:
            self.journal.append("note", {**body, "event": "not_passed", "method": method})
            log.info("%s did not pass: nothing charged", holder.unit)
            return self._done(
                Outcome(
                    True,
                    False,
                    "Nobody passed: nothing charged",
                    unit=holder.unit,
                    method=method,
                    open_latency_s=latency,
                )
            )
        today = self.now().date()
        if decision.method is Method.PASS:
            self.journal.append("pass_use", body)
            self.authoriser.pass_used(holder)
        else:
            # Exactly the ledger's charge request (the server plans it with the same
            # model as POST /v1/ledger/charges); who and where are in the gate_open.
            self.journal.append(
                "charge",
                {
                    "unit": holder.unit,
                    "wallet": self.settings.wallet,
                    "amount": decision.amount,
                    "currency": self.settings.currency,
                    "service": self.facility.service,
                    "memo": f"{self.facility.name} entry",
                },
            )
            self.authoriser.charged(holder, decision.amount, today)
        return self._done(
            Outcome(
                True,
                True,
                "Welcome",
                amount=decision.amount,
                unit=holder.unit,
                method=method,
                open_latency_s=latency,
            )
        )

    def _done(self, outcome: Outcome) -> Outcome:
        self.outcomes.append(outcome)
        return outcome
