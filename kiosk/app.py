"""The kiosk's window (Kivy): it shows a ``KioskView`` and sends intents, nothing more.

Every screen (:mod:`kiosk.screens`) is laid out anew from the view the controller
publishes, but out of the widgets it built for the view before
(:meth:`kiosk.screens.base.KioskScreen.update`): a label whose text and style did
not change is the same widget with the same texture, so only the changed labels
are rendered again (rendering a label with the CJK font on llvmpipe is what costs,
a few milliseconds each). Its buttons call ``controller.submit(...)``; no screen
touches a device, the journal or the server. The controller runs on its own
thread (:class:`ControllerThread`); its views reach the window through
``Clock.schedule_once``, on Kivy's thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.graphics import Color, Rectangle
from kivy.metrics import sp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.popup import Popup
from kivy.uix.screenmanager import NoTransition, ScreenManager
from kivy.uix.widget import Widget

from kiosk.controller import KioskController
from kiosk.i18n import tr
from kiosk.screens.base import KioskScreen
from kiosk.screens.idle import IdentifyScreen, IdleScreen, OutOfServiceScreen
from kiosk.screens.overview import OverviewScreen
from kiosk.screens.receipt import ReceiptScreen
from kiosk.screens.technician import TechnicianScreen
from kiosk.screens.top_up import TopUpScreen
from kiosk.screens.widgets import BANNER, NAVY, PAD, TOUCH, Text, Touch
from kiosk.view import KioskView
from kiosk.view import Screen as ScreenName
from kiosk.window import finish_frames

log = logging.getLogger(__name__)


def _background(widget: Widget, colour: tuple[float, ...]) -> None:
    with widget.canvas.before:
        Color(*colour)
        rect = Rectangle(pos=widget.pos, size=widget.size)
    widget.bind(
        pos=lambda w, v: setattr(rect, "pos", v), size=lambda w, v: setattr(rect, "size", v)
    )


SCREENS: dict[ScreenName, type[KioskScreen]] = {
    ScreenName.IDLE: IdleScreen,
    ScreenName.IDENTIFY: IdentifyScreen,
    ScreenName.OVERVIEW: OverviewScreen,
    ScreenName.TOP_UP: TopUpScreen,
    ScreenName.RECEIPT: ReceiptScreen,
    ScreenName.OUT_OF_SERVICE: OutOfServiceScreen,
    ScreenName.TECHNICIAN: TechnicianScreen,
}


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
