"""The top-up screen: preset amounts, cash in with its counter, or a QR order to pay."""

from __future__ import annotations

from collections.abc import Callable

from kivy.uix.image import Image

from kiosk.screens.base import KioskScreen
from kiosk.screens.names import WALLET_NAMES
from kiosk.screens.widgets import ORANGE, PAD, PALE, TOUCH, YELLOW, money, qr_texture
from kiosk.view import MESSAGES, KioskView


class TopUpScreen(KioskScreen):
    def build(self, view: KioskView) -> None:
        wallet = self.t(WALLET_NAMES.get(view.selected_wallet, view.selected_wallet))
        self.body.add_widget(
            self.caption(self.t("Top up {wallet}", wallet=wallet), size=40, bold=True)
        )
        notice = self.t(MESSAGES["no_change"])
        self.body.add_widget(self.caption(notice, size=28, colour=YELLOW, size_hint_y=1.2))
        if view.qr_order is not None:
            order = view.qr_order
            self.body.add_widget(
                Image(texture=qr_texture(order.qr), size_hint_y=3, fit_mode="contain")
            )
            self.body.add_widget(
                self.caption(
                    self.t("Pay {amount}: {seconds} s left", amount=money(view, order.amount),
                           seconds=str(order.seconds_left)),
                    size=30, bold=True,
                )
            )  # fmt: skip
            self.body.add_widget(self.caption(self.message(view), size=24, colour=PALE))
        elif not view.cash_active:
            grid = self.grid(cols=2 if self.portrait else 4, spacing=PAD * 2, size_hint_y=1.6)
            for amount in view.preset_amounts:
                grid.add_widget(
                    self.button(
                        money(view, amount),
                        self._preset(view.selected_wallet, amount),
                        name=f"preset:{amount}",
                        primary=False,
                    )
                )
            self.body.add_widget(grid)
            self.body.add_widget(
                self.button(self.t("Insert what you like"), self.submit("start_cash"),
                      name="start_cash", size_hint_y=0.8)
            )  # fmt: skip
            if view.qr_payment:
                qr_row = self.grid(cols=2 if self.portrait else 4, spacing=PAD * 2,
                                    size_hint_y=0.8)  # fmt: skip
                for amount in view.preset_amounts:
                    qr_row.add_widget(
                        self.button(
                            self.t("QR {amount}", amount=money(view, amount)),
                            self.submit("start_qr", amount=amount),
                            name=f"qr:{amount}",
                            size=22,
                        )
                    )
                self.body.add_widget(qr_row)
            elif view.message == "qr_unavailable" or not view.online:
                self.body.add_widget(
                    self.caption(self.t(MESSAGES["qr_unavailable"]), size=22, colour=PALE,
                         size_hint_y=0.4)
                )  # fmt: skip
            if view.message in ("qr_cancelled", "qr_unavailable") and view.qr_payment:
                self.body.add_widget(self.caption(self.message(view), size=22, colour=ORANGE,
                                          size_hint_y=0.4))  # fmt: skip
        else:
            counter = self.t("Inserted: {amount}", amount=money(view, view.inserted))
            if view.target:
                counter += "\n" + self.t("of {amount}", amount=money(view, view.target))
            self.body.add_widget(self.caption(counter, size=52, bold=True, size_hint_y=1.6))
            accepted = (
                "Notes and coins accepted"
                if view.notes_accepted and view.coins_accepted
                else "Notes accepted"
                if view.notes_accepted
                else "Coins only"
                if view.coins_accepted
                else "Cash is not accepted now"
            )
            self.body.add_widget(
                self.caption(self.t(accepted), size=26, colour=PALE, size_hint_y=0.6)
            )
            if view.message and view.message != "no_change":
                self.body.add_widget(self.caption(self.message(view), size=26, colour=ORANGE))
        row = self.box(spacing=PAD * 2, size_hint_y=None, height=TOUCH * 1.3)
        row.add_widget(self.button(self.t("Back"), self.submit("back"), name="back", primary=False))
        if view.cash_active:
            row.add_widget(self.button(self.t("Finish"), self.submit("finish"), name="finish"))
        self.body.add_widget(row)

    def _preset(self, wallet: str, amount: int) -> Callable[[], None]:
        def choose() -> None:
            self.app.controller.submit("choose_wallet", wallet=wallet, amount=amount)
            self.app.controller.submit("start_cash")

        return choose
