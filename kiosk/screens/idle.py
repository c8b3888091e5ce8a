"""The screens with nobody's session open: idle, identifying, out of service."""

from __future__ import annotations

from typing import Any

from kivy.uix.widget import Widget

from kiosk.i18n import LANGUAGE_NAMES
from kiosk.screens.base import KioskScreen
from kiosk.screens.widgets import ORANGE, PAD, PALE, TOUCH, YELLOW
from kiosk.view import MESSAGES, KioskView


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
