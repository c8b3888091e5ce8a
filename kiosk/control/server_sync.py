"""The kiosk and the server between sessions: the journal's upload and the terminal snapshot."""

from __future__ import annotations

import logging

from kiosk.control.overview import HouseholdOverview
from kiosk.gateway import CentralRefused, CentralUnavailable
from kiosk.view import Screen
from offline_queue.snapshot import Snapshot

log = logging.getLogger(__name__)

CREDENTIAL_REFRESH_S = 300.0


class ServerSync(HouseholdOverview):
    """Run by the loop every ``sync_interval_s`` and once at start; an upload the server
    applied refreshes the overview on screen."""

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
        if (
            (result.applied or result.rejected)
            and self._session
            and self._view.screen == Screen.OVERVIEW
        ):
            self._load_wallets()

    def _refresh_credentials(self, *, force: bool = False) -> None:
        """The terminal snapshot: the card directory (keyed hashes) and offline balances."""
        now = self.clock()
        if not force and now < self._next_credentials:
            return
        self._next_credentials = now + CREDENTIAL_REFRESH_S
        try:
            self._learn_currency(self.gateway.pull_snapshot(self.journal.snapshots))
        except CentralUnavailable:
            self._set(online=False)
            return
        except CentralRefused as err:
            log.error("cannot pull the terminal snapshot: %s", err)
            return
        self._set(online=True)

    def _learn_currency(self, held: Snapshot | None) -> None:
        """The estate's currency from a snapshot: a kiosk set up for another would take
        money the server refuses to credit, so it goes out of service until fixed."""
        currency = str(held.data.get("currency") or "") if held is not None else ""
        if not currency or currency == self._estate_currency:
            return
        self._estate_currency = currency
        if self._wrong_currency():
            log.error(
                "this kiosk is set up for %s but the estate keeps its books in %s: it takes "
                "no payments until a technician sets currency = %r in its settings",
                self.settings.currency,
                currency,
                currency,
                extra={"terminal": self.settings.terminal_id},
            )
