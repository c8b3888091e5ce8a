"""What every screen draws with: the palette, the touch size, and the kiosk's widgets.

Layout rules: every touch target is at least 15 mm high and wide, text is white
or black on navy or yellow (contrast above 7:1), and every label wraps inside
its own box (``tests/kiosk/test_screens.py`` fails if one overflows).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from kivy.core.image import Image as CoreImage
from kivy.graphics import Color, Rectangle
from kivy.metrics import mm, sp
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from domain.money import Money
from kiosk.view import KioskView

NAVY = (0.04, 0.09, 0.16, 1)
WHITE = (1, 1, 1, 1)
BLACK = (0, 0, 0, 1)
YELLOW = (1, 0.84, 0.0, 1)
PALE = (0.85, 0.9, 1, 1)
ORANGE = (1, 0.65, 0.25, 1)
RED = (1, 0.55, 0.55, 1)
BANNER = (0.75, 0.1, 0.1, 1)
TOUCH = mm(15)  # the smallest touch target, both ways
PAD = mm(3)


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


def qr_texture(data: str) -> Any:
    import segno

    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="png", scale=8, border=2)
    buffer.seek(0)
    return CoreImage(buffer, ext="png").texture
