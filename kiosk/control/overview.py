"""What the overview shows an identified household: its wallets, open bills and last top-up."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from kiosk.control.core import ControllerCore, server_credential
from kiosk.gateway import CentralRefused, CentralUnavailable, OpenBill, WalletBalance
from kiosk.view import (
    WALLET_ORDER,
    BillView,
    RefusedTopUpView,
    WalletState,
    WalletView,
    wallet_state,
)

log = logging.getLogger(__name__)

# How long the overview tells a household about a top-up the server refused: long
# enough to reach a resident who tops up monthly, short of a standing alarm once the
# office has credited it (the kiosk does not hear of that credit).
REFUSED_NOTICE = timedelta(days=35)


class HouseholdOverview(ControllerCore):
    """The household's wallets from the server, else from what the kiosk last knew."""

    def _load_wallets(self) -> None:
        session = self._session
        if session is None:
            return
        try:
            if not session.credential:
                raise CentralUnavailable("no credential the server can check")
            session.wallets = self.gateway.wallets(
                session.unit, credential=server_credential(session.credential)
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
        self._set(
            last_top_up=self._last_top_up(session.unit),
            refused_top_up=self._refused_top_up(session.unit),
        )
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

    def _refused_top_up(self, unit: str) -> RefusedTopUpView | None:
        """The household's latest top-up at this kiosk that the server refused, lately."""
        since = datetime.now(UTC) - REFUSED_NOTICE
        refused = [t for t in self.journal.top_ups_of(unit) if t.refused and t.at >= since]
        if not refused:
            return None
        last = refused[-1]
        return RefusedTopUpView(
            reference=f"{self.settings.terminal_id}-{last.seq:06d}",
            wallet=last.wallet,
            amount=last.amount,
            on=last.at.astimezone(ZoneInfo(self.settings.timezone)).date().isoformat(),
        )

    def _last_top_up(self, unit: str) -> tuple[str, int] | None:
        entries = self.journal.top_ups_of(unit)
        return (entries[-1].wallet, entries[-1].amount) if entries else None
