"""The receipt screen: what was paid, the balance after, and the e-receipt code if unprinted."""

from __future__ import annotations

from kivy.metrics import sp
from kivy.uix.image import Image

from kiosk.screens.base import KioskScreen
from kiosk.screens.names import WALLET_NAMES
from kiosk.screens.widgets import ORANGE, PAD, PALE, TOUCH, WHITE, YELLOW, money, qr_texture
from kiosk.view import MESSAGES, KioskView


class ReceiptScreen(KioskScreen):
    def build(self, view: KioskView) -> None:
        receipt = view.receipt
        if receipt is None:
            return
        self.body.add_widget(
            self.caption(
                self.t("Thank you"), size=48, bold=True, size_hint_y=None, height=sp(48) * 1.7
            )
        )
        wallet = self.t(WALLET_NAMES.get(receipt.wallet, receipt.wallet))
        what = (
            self.t("Fee payment of {amount}", amount=money(view, receipt.amount))
            if receipt.bill_id
            else self.t("Top-up of {amount} to {wallet}", amount=money(view, receipt.amount),
                        wallet=wallet)
        )  # fmt: skip
        self.body.add_widget(self.caption(what, size=32))
        balance = (
            self.t("Balance after: {amount}", amount=money(view, receipt.balance_after))
            if receipt.balance_after is not None
            else self.t(MESSAGES["pending"])
        )
        if receipt.bill_id and receipt.balance_after is not None:
            balance = self.t("Property fee wallet now: {amount}",
                             amount=money(view, receipt.balance_after))  # fmt: skip
        if receipt.refused:
            # Said before anything else: the money is not in the wallet, and why that is safe.
            self.body.add_widget(
                self.caption(self.t(MESSAGES["top_up_refused"]), size=26, colour=ORANGE)
            )
        elif receipt.balance_after is not None or not receipt.bill_id:
            self.body.add_widget(self.caption(balance, size=28, colour=YELLOW))
        self.body.add_widget(self.caption(self.message(view), size=28, colour=WHITE))
        if not receipt.printed:
            self.body.add_widget(
                Image(texture=qr_texture(receipt.ereceipt_url), size_hint_y=2.5, fit_mode="contain")
            )
            self.body.add_widget(
                self.caption(
                    receipt.reference, size=20, colour=PALE, size_hint_y=None, height=sp(20) * 1.8
                )
            )
        row = self.box(spacing=PAD * 2, size_hint_y=None, height=TOUCH * 1.3)
        if receipt.printed and not receipt.bill_id:  # a reprint finds top-ups only
            row.add_widget(
                self.button(
                    self.t("Print again"), self.submit("reprint"), name="reprint", primary=False
                )
            )
        row.add_widget(self.button(self.t("Done"), self.submit("go_idle"), name="done"))
        self.body.add_widget(row)
