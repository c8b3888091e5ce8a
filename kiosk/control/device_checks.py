"""Whether each device works: the loop's periodic check and the technician's doctor."""

from __future__ import annotations

import logging
from typing import Any

from kiosk.control.cash import CashTopUp
from kiosk.devices import BILL, CARD, COIN, PRINTER
from kiosk.view import DeviceCheckView, Screen
from terminal_drivers.bill_acceptor.codes import FAULTS
from terminal_drivers.errors import CommunicationError, DriverError
from terminal_drivers.self_test import SelfTestResult

log = logging.getLogger(__name__)

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


class DeviceChecks(CashTopUp):
    """A failed device is used again once it is back; the doctor says what to do.

    Built on the cash flow: a check polls the bill acceptor, and its events (a pulled
    cassette among them) are the cash flow's to handle.
    """

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
