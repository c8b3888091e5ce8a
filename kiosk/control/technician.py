"""Technician mode: who may open it (a PIN or a staff card) and its test receipt.

The doctor it runs is in :mod:`kiosk.control.device_checks`.
"""

from __future__ import annotations

import logging
from typing import Any

from kiosk.control.receipts import Receipts
from kiosk.devices import PRINTER
from kiosk.journal import StaffCard
from kiosk.view import Screen
from terminal_drivers.receipt_printer.device import Receipt

log = logging.getLogger(__name__)

# Technician mode opens from a screen nobody is using: never over a resident's session.
TECHNICIAN_FROM = (Screen.IDLE, Screen.IDENTIFY, Screen.OUT_OF_SERVICE)


class TechnicianMode(Receipts):
    """Opened only from a screen nobody is using; journalled by the staff card's id."""

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
