"""Who is at the kiosk: a resident's card or QR code opens their household's session."""

from __future__ import annotations

import logging

from kiosk.control.core import Session
from kiosk.control.overview import HouseholdOverview
from kiosk.control.technician import TechnicianMode
from kiosk.devices import CARD
from kiosk.view import Screen, mask_card
from terminal_drivers.card_reader.errors import (
    CardNotGenuine,
    CardNotSupported,
    CardRemoved,
    NoCard,
    ReaderUnavailable,
)
from terminal_drivers.card_reader.estate_app import Assurance
from terminal_drivers.errors import DriverError

log = logging.getLogger(__name__)


class Identification(TechnicianMode, HouseholdOverview):
    """A card (or QR code) refused says why; a resident's opens the household overview,
    a staff card technician mode."""

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
        self._session = Session(unit=unit, card=card, method=method, credential=credential)
        self._set(screen=Screen.OVERVIEW, unit=unit, card=card, message="", receipt=None)
        self._load_wallets()
        self._touch()
