"""The household's overview: its wallets, a wallet's last week, and its open fee bills."""

from __future__ import annotations

from kivy.metrics import sp
from kivy.uix.widget import Widget

from kiosk.screens.base import KioskScreen
from kiosk.screens.names import STATE_NAMES, WALLET_NAMES
from kiosk.screens.widgets import ORANGE, PAD, PALE, RED, TOUCH, WHITE, YELLOW, money
from kiosk.view import MESSAGES, TOP_UP_WALLETS, BillView, KioskView, WalletState, WalletView

UTILITY_WALLETS = ("electricity", "water", "gas")  # metered: days left mean something
STATE_COLOURS = {
    WalletState.OK: WHITE,
    WalletState.LOW: YELLOW,
    WalletState.EMERGENCY: ORANGE,
    WalletState.CUT_OFF: RED,
    WalletState.LIMITED: ORANGE,
    WalletState.EMPTY: PALE,
    WalletState.UNKNOWN: PALE,
}


class OverviewScreen(KioskScreen):
    def build(self, view: KioskView) -> None:
        head = self.t("Unit {unit}", unit=view.unit)
        if view.card:
            head += f"   {self.t('Card')} {view.card}"
        self.body.add_widget(
            self.caption(head, size=36, bold=True, size_hint_y=None, height=sp(36) * 1.8)
        )
        if not view.online and view.balances_at is not None:
            at = view.balances_at.astimezone().strftime("%Y-%m-%d %H:%M")
            self.body.add_widget(
                self.caption(self.t("Balances as of {time}", time=at), size=24, colour=YELLOW,
                     size_hint_y=None, height=sp(24) * 1.8)
            )  # fmt: skip
        if view.confirm_bill is not None:  # the question takes the wallets' place
            self._confirm(view, view.confirm_bill)
            self.body.add_widget(
                self.button(self.t("Done"), self.submit("go_idle"), name="done", size_hint_y=None,
                      height=TOUCH * 1.3)
            )  # fmt: skip
            return
        if view.usage_wallet:  # the chosen wallet's week takes the wallets' place
            self._usage(view, view.usage_wallet)
            return
        # Landscape has a column for each wallet's last top-up; portrait puts it under
        # the balance, where its taller rows have room.
        wide = not self.portrait
        rows = self.grid(cols=5 if wide else 4, spacing=PAD, size_hint_y=len(view.wallets) or 1)
        for wallet in view.wallets:
            rows.add_widget(
                self.button(
                    self.t(WALLET_NAMES[wallet.purpose]),
                    self.submit("show_usage", wallet=wallet.purpose),
                    name=f"usage:{wallet.purpose}",
                    primary=False,
                    size=24,
                    size_hint_x=0.9,
                )
            )
            amount = "—" if wallet.balance is None else money(view, wallet.balance)
            last = self._last_top_up(view, wallet)
            if wide:
                rows.add_widget(self.caption(amount, size=26, halign="right", size_hint_x=0.8))
            else:
                cell = self.box(orientation="vertical")
                cell.add_widget(self.caption(amount, size=26, halign="right"))
                cell.add_widget(self.caption(last, size=18, colour=PALE, halign="right"))
                rows.add_widget(cell)
            if wallet.pending:  # credited here, not yet on the server: says more than the state
                state = self.t("+{amount} pending", amount=money(view, wallet.pending))
                rows.add_widget(self.caption(state, size=22, colour=YELLOW))
            else:
                state = self.t(STATE_NAMES[wallet.state])
                detail = self._wallet_detail(wallet)
                rows.add_widget(
                    self.caption(f"{state}\n{detail}" if detail else state,
                              size=22 if detail else 24, colour=STATE_COLOURS[wallet.state])
                )  # fmt: skip
            if wide:
                rows.add_widget(self.caption(last, size=20, colour=PALE))
            if wallet.purpose in TOP_UP_WALLETS:
                rows.add_widget(
                    self.button(
                        self.t("Top up"),
                        self.submit("choose_wallet", wallet=wallet.purpose),
                        name=f"top_up:{wallet.purpose}",
                        size=24,
                        size_hint_x=0.7 if wide else 0.8,
                    )
                )
            else:
                rows.add_widget(
                    Widget(size_hint_min=(TOUCH, TOUCH), size_hint_x=0.7 if wide else 0.8)
                )
        self.body.add_widget(rows)
        self._bills(view)
        refused = view.refused_top_up
        if refused is not None:  # the household must hear this before any last top-up
            self.body.add_widget(
                self.caption(
                    self.t(
                        MESSAGES["top_up_not_applied"],
                        amount=money(view, refused.amount),
                        wallet=self.t(WALLET_NAMES.get(refused.wallet, refused.wallet)),
                        date=self.day(refused.on),
                        reference=refused.reference,
                    ),
                    size=20,
                    colour=ORANGE,
                    size_hint_y=None,
                    height=sp(20) * 3.6,
                )
            )
        elif view.last_top_up and not view.bills:  # the bills take its room
            last_wallet, last_amount = view.last_top_up
            self.body.add_widget(
                self.caption(
                    self.t(
                        "Last top-up here: {amount} to {wallet}",
                        amount=money(view, last_amount),
                        wallet=self.t(WALLET_NAMES[last_wallet]),
                    ),
                    size=22,
                    colour=PALE,
                    size_hint_y=None,
                    height=sp(22) * 1.8,
                )
            )
        self.body.add_widget(
            self.button(self.t("Done"), self.submit("go_idle"), name="done", size_hint_y=None,
                  height=TOUCH * 1.3)
        )  # fmt: skip

    def _last_top_up(self, view: KioskView, wallet: WalletView) -> str:
        """A wallet's last top-up by any channel, as the server's ledger has it."""
        if not wallet.last_top_up_on:
            return self.t("No top-up yet") if wallet.balance is not None else ""
        when = self.t("Last top-up {date}", date=self.day(wallet.last_top_up_on))
        return f"{when}\n{money(view, wallet.last_top_up_amount)}"

    def _usage(self, view: KioskView, purpose: str) -> None:
        """The chosen wallet's spend on each of the last seven local days, as bars."""
        wallet = next((w for w in view.wallets if w.purpose == purpose), None)
        name = self.t(WALLET_NAMES.get(purpose, purpose))
        self.body.add_widget(
            self.caption(self.t("{wallet}: the last 7 days", wallet=name), size=32, bold=True,
                         size_hint_y=None, height=sp(32) * 1.7)
        )  # fmt: skip
        days = wallet.spend_by_day if wallet is not None else ()
        if wallet is not None:
            summary = "—" if wallet.balance is None else money(view, wallet.balance)
            summary = self.t("Balance {amount}", amount=summary)
            if wallet.last_top_up_on:
                summary += "   " + self.t(
                    "Last top-up {date}: {amount}",
                    date=self.day(wallet.last_top_up_on),
                    amount=money(view, wallet.last_top_up_amount),
                )
            lines = 2.8 if self.portrait else 1.8  # portrait may wrap it onto two lines
            self.body.add_widget(
                self.caption(summary, size=24, colour=PALE, size_hint_y=None,
                             height=sp(24) * lines)
            )  # fmt: skip
        if days:
            self.body.add_widget(self._chart(view, days))
            total = sum(amount for _, amount in days)
            self.body.add_widget(
                self.caption(self.t("Spent in 7 days: {amount}", amount=money(view, total)),
                             size=28, bold=True, size_hint_y=None, height=sp(28) * 1.8)
            )  # fmt: skip
        else:
            self.body.add_widget(
                self.caption(self.t("Recent usage cannot be shown now."), size=28, colour=PALE)
            )
        row = self.box(spacing=PAD * 2, size_hint_y=None, height=TOUCH * 1.3)
        row.add_widget(self.button(self.t("Back"), self.submit("back"), name="back", primary=False))
        if purpose in TOP_UP_WALLETS:
            row.add_widget(
                self.button(self.t("Top up"), self.submit("choose_wallet", wallet=purpose),
                            name=f"top_up:{purpose}")
            )  # fmt: skip
        row.add_widget(self.button(self.t("Done"), self.submit("go_idle"), name="done"))
        self.body.add_widget(row)

    def _chart(self, view: KioskView, days: tuple[tuple[str, int], ...]) -> Widget:
        """Landscape: a column per day, its amount above and its day below. Portrait: a
        row per day (its height has room for seven rows of large type)."""
        peak = max(amount for _, amount in days) or 1
        labels = [self.t("Today") if n == len(days) - 1 else self.day(d) for n, (d, _) in
                  enumerate(days)]  # fmt: skip
        if not self.portrait:
            chart = self.grid(rows=1, spacing=PAD, size_hint_y=len(days) / 2)
            for label, (_, amount) in zip(labels, days, strict=True):
                column = self.box(orientation="vertical", spacing=PAD / 2)
                column.add_widget(self.caption(money(view, amount), size=20, size_hint_y=None,
                                               height=sp(20) * 1.6))  # fmt: skip
                column.add_widget(self.bar(amount / peak, vertical=True))
                column.add_widget(self.caption(label, size=24, size_hint_y=None,
                                               height=sp(24) * 1.6))  # fmt: skip
                chart.add_widget(column)
            return chart
        chart = self.grid(cols=3, spacing=PAD, size_hint_y=len(days))
        for label, (_, amount) in zip(labels, days, strict=True):
            chart.add_widget(self.caption(label, size=26, halign="left", size_hint_x=0.7))
            chart.add_widget(self.bar(amount / peak, size_hint_x=2))
            chart.add_widget(
                self.caption(money(view, amount), size=26, halign="right", size_hint_x=0.9)
            )
        return chart

    def _wallet_detail(self, wallet: WalletView) -> str:
        """Metering's word on a utility wallet, under its state: a restore first, then days."""
        if wallet.restore_pending:
            return self.t("Restore on its way")
        if wallet.purpose not in UTILITY_WALLETS or wallet.days_left is None:
            return ""
        if wallet.days_left < 1:
            return self.t("Less than a day left")
        if wallet.days_left == 1:
            return self.t("About 1 day left")
        return self.t("About {days} days left", days=str(wallet.days_left))

    def _confirm(self, view: KioskView, bill: BillView) -> None:
        """Pay this bill (or its next instalment) from the property-fee wallet, or go back."""
        ask = self.t(
            "Pay {amount} for the fees of {period} from the property fee wallet?",
            amount=money(view, bill.due_now),
            period=bill.period,
        )
        self.body.add_widget(self.caption(ask, size=32, bold=True))
        if view.message in ("fee_failed", "fee_no_answer"):
            self.body.add_widget(self.caption(self.message(view), size=26, colour=ORANGE))
        row = self.box(spacing=PAD * 2, size_hint_y=None, height=TOUCH * 1.3)
        row.add_widget(self.button(self.t("Back"), self.submit("back"), name="back", primary=False))
        row.add_widget(self.button(self.t("Pay"), self.submit("pay_bill"), name="pay_bill"))
        self.body.add_widget(row)

    def _bills(self, view: KioskView) -> None:
        """The open fee bills, soonest due first; landscape has room for the first only."""
        for bill in view.bills[: 3 if self.portrait else 1]:
            row = self.box(spacing=PAD * 2, size_hint_y=None, height=TOUCH * 1.2)
            owed = self.t(
                "Fees {period}: {amount} owed, due {date}",
                period=bill.period,
                amount=money(view, bill.outstanding),
                date=bill.due_on,
            )
            row.add_widget(self.caption(owed, size=22, halign="left", size_hint_x=2))
            label = (
                self.t("Pay {amount}", amount=money(view, bill.due_now))
                if bill.next_instalment is None
                else self.t("Pay instalment {amount}", amount=money(view, bill.due_now))
            )
            row.add_widget(
                self.button(label, self.submit("choose_bill", bill_id=bill.bill_id),
                      name=f"bill:{bill.bill_id}", size=22)
            )  # fmt: skip
            self.body.add_widget(row)
        # No bill left to ask about (paid meanwhile): the message stands on its own.
        if view.message in ("fee_failed", "fee_no_answer") and not view.bills:
            self.body.add_widget(
                self.caption(self.message(view), size=22, colour=ORANGE, size_hint_y=None,
                     height=sp(22) * 1.8)
            )  # fmt: skip
