"""The kiosk's screens (Kivy): they show a ``KioskView`` and send intents, nothing more.

Every screen is laid out anew from the view the controller publishes, but out
of the widgets it built for the view before (:meth:`KioskScreen.update`): a
label whose text and style did not change is the same widget with the same
texture, so only the changed labels are rendered again (rendering a label with
the CJK font on llvmpipe is what costs, a few milliseconds each). Its buttons
call ``controller.submit(...)``; no screen touches a device, the journal or the
server. The controller runs on its own
thread (:class:`ControllerThread`); its views reach the window through
``Clock.schedule_once``, on Kivy's thread.

Layout rules: every touch target is at least 15 mm high and wide, text is white
or black on navy or yellow (contrast above 7:1), and every label wraps inside
its own box (``tests/kiosk/test_screens.py`` fails if one overflows).
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable
from datetime import date
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.image import Image as CoreImage
from kivy.core.window import Window
from kivy.graphics import Color, Rectangle
from kivy.metrics import mm, sp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.popup import Popup
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager
from kivy.uix.widget import Widget

from domain.money import Money
from kiosk.controller import KioskController
from kiosk.devices import DeviceHealth
from kiosk.i18n import LANGUAGE_NAMES, tr
from kiosk.view import (
    MESSAGES,
    TOP_UP_WALLETS,
    BillView,
    DeviceCheckView,
    KioskView,
    WalletState,
    WalletView,
)
from kiosk.view import Screen as ScreenName
from kiosk.window import finish_frames

log = logging.getLogger(__name__)

NAVY = (0.04, 0.09, 0.16, 1)
WHITE = (1, 1, 1, 1)
BLACK = (0, 0, 0, 1)
YELLOW = (1, 0.84, 0.0, 1)
PALE = (0.85, 0.9, 1, 1)
ORANGE = (1, 0.65, 0.25, 1)
RED = (1, 0.55, 0.55, 1)
BANNER = (0.75, 0.1, 0.1, 1)
UTILITY_WALLETS = ("electricity", "water", "gas")  # metered: days left mean something
TOUCH = mm(15)  # the smallest touch target, both ways
PAD = mm(3)

WALLET_NAMES = {
    "electricity": "Electricity",
    "water": "Water",
    "gas": "Gas",
    "parking": "Parking",
    "property_fee": "Property fee",
    "maintenance_fund": "Maintenance fund",
    "services": "Services",
}
STATE_NAMES = {
    WalletState.OK: "OK",
    WalletState.LOW: "Low",
    WalletState.EMERGENCY: "Emergency credit",
    WalletState.CUT_OFF: "Supply cut off",
    WalletState.LIMITED: "Supply limited",
    WalletState.EMPTY: "Empty",
    WalletState.UNKNOWN: "Unknown",
}
STATE_COLOURS = {
    WalletState.OK: WHITE,
    WalletState.LOW: YELLOW,
    WalletState.EMERGENCY: ORANGE,
    WalletState.CUT_OFF: RED,
    WalletState.LIMITED: ORANGE,
    WalletState.EMPTY: PALE,
    WalletState.UNKNOWN: PALE,
}
DEVICE_NAMES = {
    "bill_acceptor": "Bill acceptor",
    "coin_acceptor": "Coin acceptor",
    "printer": "Receipt printer",
    "card_reader": "Card reader",
}


def _background(widget: Widget, colour: tuple[float, ...]) -> None:
    with widget.canvas.before:
        Color(*colour)
        rect = Rectangle(pos=widget.pos, size=widget.size)
    widget.bind(
        pos=lambda w, v: setattr(rect, "pos", v), size=lambda w, v: setattr(rect, "size", v)
    )


class Text(Label):  # type: ignore[misc]
    """A label that wraps inside its own box."""

    def __init__(self, text: str, *, size: float = 28, colour: Any = WHITE, **kw: Any) -> None:
        kw.setdefault("halign", "center")
        kw.setdefault("valign", "middle")
        super().__init__(text=text, font_size=sp(size), color=colour, **kw)
        self.bind(size=self._wrap)
        self._wrap(self, self.size)

    def _wrap(self, _: Any, size: Any) -> None:
        self.text_size = (max(1.0, size[0] - PAD), None)


class Bar(Widget):  # type: ignore[misc]
    """One day's bar of a usage chart, yellow on navy: ``fraction`` of its width, or of
    its height when ``vertical`` (standing on its box's floor)."""

    def __init__(self, fraction: float, vertical: bool = False, **kw: Any) -> None:
        super().__init__(**kw)
        self.fraction = max(0.0, min(1.0, fraction))
        self.vertical = vertical
        with self.canvas:
            Color(*YELLOW)
            self._rect = Rectangle()
        self.bind(pos=self._draw, size=self._draw)

    def _draw(self, *_: Any) -> None:
        least = mm(1) if self.fraction else 0  # a day with some spend is never drawn as nothing
        if self.vertical:
            width = self.width * 0.6
            self._rect.pos = (self.x + (self.width - width) / 2, self.y)
            self._rect.size = (width, max(self.height * self.fraction, least))
        else:
            height = self.height * 0.6
            self._rect.pos = (self.x, self.y + (self.height - height) / 2)
            self._rect.size = (max(self.width * self.fraction, least), height)


class Touch(Button):  # type: ignore[misc]
    """A touch target of at least 15 mm, yellow (primary) or white (secondary)."""

    def __init__(
        self,
        text: str,
        action: Callable[[], None],
        *,
        name: str,
        primary: bool = True,
        size: float = 28,
        **kw: Any,
    ) -> None:
        kw.setdefault("size_hint_min", (TOUCH, TOUCH))
        super().__init__(
            text=text,
            font_size=sp(size),
            color=BLACK if primary else NAVY,
            background_normal="",
            background_down="",
            background_color=YELLOW if primary else WHITE,
            halign="center",
            valign="middle",
            **kw,
        )
        self.name = name
        self.action = action  # replaced when a screen reuses the button for a new view
        self.bind(size=lambda w, s: setattr(w, "text_size", (max(1.0, s[0] - PAD), None)))
        self.bind(on_release=lambda *_: self.action())


def money(view: KioskView, minor: int) -> str:
    return Money(minor, view.currency).format()


class KioskScreen(Screen):  # type: ignore[misc]
    """Base: a navy page laid out from each view, out of the widgets of the view before.

    ``build`` asks for its widgets through :meth:`caption`, :meth:`button`,
    :meth:`box` and :meth:`grid`. Each returns the widget the previous build
    made with the same arguments (the n-th such one), detached and emptied, or
    a new one. A reused label keeps its texture; a reused layout keeps its size,
    so its reused labels are not resized and not rendered again.
    """

    def __init__(self, app: KioskApp, **kw: Any) -> None:
        super().__init__(**kw)
        self.app = app
        # No navy rectangle of its own: the window's clear colour is the page (KioskApp.build).
        # Each full-window rectangle is one more pass over every pixel in software GL
        # (llvmpipe), a third of a frame's rendering; the pixels are the same.
        self.body = BoxLayout(orientation="vertical", padding=PAD * 2, spacing=PAD * 2)
        self.add_widget(self.body)
        self._built: dict[tuple[Any, ...], Widget] = {}  # the previous build's widgets
        self._building: dict[tuple[Any, ...], Widget] = {}

    def _reuse(self, cls: type[Widget], args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        # Texts and styles are strings, numbers and tuples: their repr is a fair key.
        base = (cls, repr(args), repr(sorted(kw.items())))
        n = 0
        while (*base, n) in self._building:
            n += 1
        key = (*base, n)
        widget = self._built.pop(key, None)
        if widget is None:
            widget = cls(*args, **kw)
        else:
            if widget.parent is not None:
                widget.parent.remove_widget(widget)
            if isinstance(widget, (BoxLayout, GridLayout)):
                widget.clear_widgets()
        self._building[key] = widget
        return widget

    def caption(self, text: str, **kw: Any) -> Text:
        label: Text = self._reuse(Text, (text,), kw)
        return label

    def button(self, text: str, action: Callable[[], None], **kw: Any) -> Touch:
        button: Touch = self._reuse(Touch, (text, None), kw)
        button.action = action
        return button

    def box(self, **kw: Any) -> BoxLayout:
        layout: BoxLayout = self._reuse(BoxLayout, (), kw)
        return layout

    def grid(self, **kw: Any) -> GridLayout:
        layout: GridLayout = self._reuse(GridLayout, (), kw)
        return layout

    def bar(self, fraction: float, *, vertical: bool = False, **kw: Any) -> Bar:
        widget: Bar = self._reuse(Bar, (round(fraction, 3), vertical), kw)
        return widget

    def day(self, iso: str) -> str:
        """A local day as the language writes it short: "20 Nov", "11月20日"."""
        return date.fromisoformat(iso).strftime(self.t("%-d %b"))

    def t(self, text: str, **fields: str) -> str:
        return tr(self.app.language, text, **fields)

    def submit(self, intent: str, **args: Any) -> Callable[[], None]:
        return lambda: self.app.controller.submit(intent, **args)

    def message(self, view: KioskView) -> str:
        if not view.message:
            return ""
        return self.t(MESSAGES[view.message], **dict(view.message_args))

    def update(self, view: KioskView) -> None:
        self.body.clear_widgets()
        self._building = {}
        self.build(view)
        self._built = self._building  # what this view did not use is dropped

    def build(self, view: KioskView) -> None:
        raise NotImplementedError

    @property
    def portrait(self) -> bool:
        return bool(Window.height > Window.width)


class IdleScreen(KioskScreen):
    def build(self, view: KioskView) -> None:
        title = self.caption(view.estate_name, size=52, bold=True, size_hint_y=1.2)
        title.funbind("on_touch_down", self._secret_tap)  # a reused title is bound once
        title.fbind("on_touch_down", self._secret_tap)
        self.body.add_widget(title)
        prompt = (
            "Tap your card or show your QR code"
            if view.card_identification
            else "Show your QR code from the residents' app"
        )
        self.body.add_widget(self.caption(self.t(prompt), size=40, colour=YELLOW, size_hint_y=1.4))
        for notice in view.notices:
            self.body.add_widget(self.caption(notice, size=24, colour=PALE))
        if view.message:
            self.body.add_widget(self.caption(self.message(view), size=26, colour=ORANGE))
        row = self.box(spacing=PAD * 2, size_hint_y=None, height=TOUCH * 1.3)
        for language in self.app.controller.settings.languages:
            row.add_widget(
                self.button(
                    LANGUAGE_NAMES.get(language, language),
                    self.submit("set_language", language=language),
                    name=f"language:{language}",
                    primary=language == view.language,
                )
            )
        self.body.add_widget(row)

    def _secret_tap(self, widget: Widget, touch: Any) -> bool:
        """The hidden gesture: five taps on the estate's name open the technician's PIN pad."""
        if not widget.collide_point(*touch.pos):
            return False
        taps = [t for t in getattr(self, "_taps", []) if touch.time_start - t < 3.0]
        taps.append(touch.time_start)
        self._taps = taps
        if len(taps) >= 5:
            self._taps = []
            self.app.open_pin_pad()
        return True


class IdentifyScreen(KioskScreen):
    def build(self, view: KioskView) -> None:
        self.body.add_widget(
            self.caption(self.message(view) or self.t(MESSAGES["reading"]), size=36)
        )
        self.body.add_widget(
            self.button(self.t("Back"), self.submit("go_idle"), name="back", size_hint_y=None,
                  height=TOUCH * 1.3)
        )  # fmt: skip


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
        if view.last_top_up and not view.bills:  # the bills take its room
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
        if receipt.balance_after is not None or not receipt.bill_id:
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


class OutOfServiceScreen(KioskScreen):
    def build(self, view: KioskView) -> None:
        self.body.add_widget(self.caption(view.estate_name, size=40, bold=True))
        self.body.add_widget(
            self.caption(self.t("Out of service"), size=56, bold=True, colour=YELLOW)
        )
        self.body.add_widget(
            self.caption(self.t("Sorry, this kiosk cannot take payments now. Please call {phone}.",
                        phone=view.estate_phone), size=32, size_hint_y=1.5)
        )  # fmt: skip


class TechnicianScreen(KioskScreen):
    def build(self, view: KioskView) -> None:
        title = self.t("Technician")
        if view.technician_card:
            title += "   " + self.t("Staff card {card}", card=str(view.technician_card))
        self.body.add_widget(
            self.caption(title, size=40, bold=True, size_hint_y=None, height=sp(40) * 1.7)
        )
        checks = {c.name: c for c in view.doctor}
        grid = self.grid(cols=2, spacing=PAD, size_hint_y=len(view.devices) or 1)
        for device in view.devices:
            grid.add_widget(
                self.caption(
                    self.t(DEVICE_NAMES.get(device.name, device.name)), size=24, size_hint_x=0.4
                )
            )
            check = checks.get(device.name)
            text, ok = self._state(device) if check is None else self._checked(check)
            grid.add_widget(
                self.caption(text, size=18 if check else 20, colour=WHITE if ok else ORANGE)
            )
        self.body.add_widget(grid)
        if view.message in ("doctor_done", "test_printed", "test_not_printed"):
            self.body.add_widget(self.caption(self.message(view), size=24, colour=YELLOW,
                                              size_hint_y=0.5))  # fmt: skip
        self.body.add_widget(
            self.caption(self.t("Journal backlog: {count}", count=str(view.backlog)), size=24,
                         size_hint_y=0.5)
        )  # fmt: skip
        counts = ", ".join(f"{money(view, d)} × {n}" for d, n in view.cash_counts) or "—"
        self.body.add_widget(
            self.caption(self.t("Cash taken: {counts}", counts=counts), size=22, colour=PALE,
                         size_hint_y=0.5)
        )  # fmt: skip
        row = self.box(spacing=PAD * 2, size_hint_y=None, height=TOUCH * 1.3)
        row.add_widget(
            self.button(self.t("Doctor"), self.submit("doctor"), name="doctor", primary=False)
        )
        row.add_widget(
            self.button(self.t("Test receipt"), self.submit("test_receipt"), name="test_receipt",
                  primary=False)
        )  # fmt: skip
        row.add_widget(self.button(self.t("Exit"), self.submit("go_idle"), name="exit"))
        self.body.add_widget(row)

    def _state(self, device: DeviceHealth) -> tuple[str, bool]:
        state = "OK" if device.ok else ("Not fitted" if not device.fitted else "Failed")
        return self.t(state) + (f"\n{device.detail}" if device.detail else ""), device.ok

    def _checked(self, check: DeviceCheckView) -> tuple[str, bool]:
        """The doctor's verdict: OK with what the driver reported, or why and what to do."""
        if not check.fitted:
            return self.t("Not fitted"), True
        if check.ok:
            text = self.t("Self-test OK")
            details = ", ".join(f"{k} {v}" for k, v in check.details)
            if details:
                text += f": {details}"
        else:
            text = self.t("Self-test failed") + f": {check.reason}"
            if check.advice:
                text += "\n" + self.t("What to do: {advice}", advice=check.advice)
        if not check.in_use:
            text += "\n" + self.t("Not in use by the kiosk")
        return text, check.ok and check.in_use


SCREENS: dict[ScreenName, type[KioskScreen]] = {
    ScreenName.IDLE: IdleScreen,
    ScreenName.IDENTIFY: IdentifyScreen,
    ScreenName.OVERVIEW: OverviewScreen,
    ScreenName.TOP_UP: TopUpScreen,
    ScreenName.RECEIPT: ReceiptScreen,
    ScreenName.OUT_OF_SERVICE: OutOfServiceScreen,
    ScreenName.TECHNICIAN: TechnicianScreen,
}


def qr_texture(data: str) -> Any:
    import segno

    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="png", scale=8, border=2)
    buffer.seek(0)
    return CoreImage(buffer, ext="png").texture


class Root(BoxLayout):  # type: ignore[misc]
    def __init__(self, app: KioskApp) -> None:
        super().__init__(orientation="vertical")  # navy: the window's clear colour
        self.banner = Text("", size=24, size_hint_y=None, height=0, opacity=0)
        _background(self.banner, BANNER)
        self.manager = ScreenManager(transition=NoTransition())
        for name, cls in SCREENS.items():
            self.manager.add_widget(cls(app, name=name.value))
        self.add_widget(self.banner)
        self.add_widget(self.manager)


class KioskApp(App):  # type: ignore[misc]
    """The window. ``controller`` is driven by a ``ControllerThread`` (or a test)."""

    def __init__(self, controller: KioskController, **kw: Any) -> None:
        super().__init__(**kw)
        self.controller = controller
        self.title = controller.settings.estate_name
        self.language = controller.view.language
        self.shown: KioskView | None = None
        self._cue = controller.view.cue
        self._sound: Any = None
        self.pin_pad: Popup | None = None

    def build(self) -> Root:
        finish_frames()  # offscreen: each frame ended, else the GL driver's memory grows
        Window.clearcolor = NAVY  # every screen's page: they draw no background of their own
        self.root_widget = Root(self)
        self.controller.subscribe(self._from_controller)
        self.show(self.controller.view)
        return self.root_widget

    def _from_controller(self, view: KioskView) -> None:
        Clock.schedule_once(lambda _dt: self.show(view))

    def show(self, view: KioskView) -> None:
        """Kivy's thread: make the window show ``view``."""
        self.shown = view
        self.language = view.language
        root = self.root_widget
        offline = not view.online
        root.banner.text = (
            tr(view.language, "Offline: cash is accepted and credited when the connection "
               "returns; QR payment is unavailable.") if offline else ""
        )  # fmt: skip
        root.banner.height = TOUCH * 1.2 if offline else 0
        root.banner.opacity = 1 if offline else 0
        screen = root.manager.get_screen(view.screen.value)
        screen.update(view)
        root.manager.current = view.screen.value
        if view.cue > self._cue:
            self._play_cue()
        self._cue = view.cue

    def refresh(self) -> None:
        """Rebuild the current screen (after a window resize)."""
        if self.shown is not None:
            self.show(self.shown)

    def _play_cue(self) -> None:
        try:
            if self._sound is None:
                from kivy.core.audio import SoundLoader

                from kiosk.fonts import ASSET_FONTS

                self._sound = SoundLoader.load(str(ASSET_FONTS.parent / "sounds" / "stacked.wav"))
            if self._sound is not None:
                self._sound.play()
        except Exception as err:  # no audio device: the counter still moves
            log.info("no audible cue: %s", err)
            self._sound = False

    def open_pin_pad(self) -> Popup:
        entered: list[str] = []
        # The entered digits one key high: the four rows of keys fit inside the popup
        # (a touch outside it dismisses the pad, OK unpressed).
        shown = Text("", size=40, size_hint_y=None, height=TOUCH)
        grid = GridLayout(cols=3, spacing=PAD)

        def press(key: str) -> Callable[[], None]:
            def act() -> None:
                if key == "OK":
                    popup.dismiss()
                    self.controller.submit("technician", pin="".join(entered))
                elif key == "delete":
                    if entered:
                        entered.pop()
                else:
                    entered.append(key)
                shown.text = "●" * len(entered)

            return act

        # A word, not a symbol, on the delete key: the kiosk's font has no glyph for
        # an erase symbol (it drew a box), and a word reads in every language.
        keys = [(d, d) for d in "123456789"]
        keys += [("delete", tr(self.language, "Delete")), ("0", "0"), ("OK", "OK")]
        for key, label in keys:
            grid.add_widget(
                Touch(label, press(key), name=f"pin:{key}", primary=key == "OK", size=24)
            )
        box = BoxLayout(orientation="vertical", spacing=PAD)
        box.add_widget(shown)
        box.add_widget(grid)
        popup = Popup(
            title=tr(self.language, "Enter PIN"),
            title_size=sp(28),
            content=box,
            size_hint=(None, None),
            size=(TOUCH * 6, TOUCH * 8),
        )
        popup.open()
        self.pin_pad = popup
        return popup


class ControllerThread:
    """The controller's own thread: devices, journal and server stay off Kivy's thread."""

    def __init__(self, controller: KioskController, period: float = 0.1) -> None:
        self.controller = controller
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=controller.run, args=(self._stop.is_set, period), name="kiosk-controller",
            daemon=True,
        )  # fmt: skip

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
