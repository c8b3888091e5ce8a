"""The base of every screen: laid out anew from each view, out of the widgets of the last."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from kivy.core.window import Window
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from kiosk.i18n import tr
from kiosk.screens.widgets import PAD, Bar, Text, Touch
from kiosk.view import MESSAGES, KioskView

if TYPE_CHECKING:
    from kiosk.app import KioskApp


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
