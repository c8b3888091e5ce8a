"""After the money is in the journal: tell the server, read the balance after, give the receipt."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from domain.money import Money
from kiosk.control.core import ControllerCore, server_credential
from kiosk.devices import PRINTER
from kiosk.gateway import CentralRefused, CentralUnavailable
from kiosk.journal import TopUpEntry
from kiosk.tokens import ereceipt_token
from kiosk.view import ReceiptView, Screen
from terminal_drivers.receipt_printer.device import Receipt

log = logging.getLogger(__name__)


class Receipts(ControllerCore):
    """The receipt of a top-up or a fee payment, printed or offered as an e-receipt code."""

    def _after_top_up(self, entry: TopUpEntry, *, card: str) -> None:
        """The entry is journalled: upload it, and read the wallet's balance after."""
        balance_after: int | None = None
        try:
            self.gateway.sync(self.journal.signed)
            self._set(online=True)
            done = self.journal.top_up(entry.seq)
            if done is not None:
                entry = done
            if entry.state == "applied":
                balance_after = self._balance_after(entry)
            elif entry.refused:
                # The cash is in the box and in the journal: the back office credits it
                # (prepaid central cash unapplied / credit), and the receipt says so.
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
                    entry.unit, credential=server_credential(session.credential)
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
        if entry.refused:
            balance = "NOT APPLIED"
        elif balance_after is not None:
            balance = Money(balance_after, entry.currency).format()
        else:
            balance = "pending"
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
        if entry.refused:
            # The paper is what the resident shows at the office: it says what to do.
            lines += ["The server refused this top-up.", "The office will credit it:",
                      "keep this receipt."]  # fmt: skip
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
            refused=entry.refused,
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
        refused: bool = False,
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
                refused=refused,
            ),
            inserted=amount,
            confirm_bill=None,
        )
        self._say(message)
        if balance_after is None and not bill_id and not refused:
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
