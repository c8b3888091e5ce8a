"""One Kivy window for the whole test session (offscreen without a display), and its helpers."""

from __future__ import annotations

from collections.abc import Iterator

from kiosk.window import prepare_environment

prepare_environment(offscreen=True)

from kivy.core.window import Window  # noqa: E402
from kivy.uix.label import Label  # noqa: E402
from kivy.uix.widget import Widget  # noqa: E402

from kiosk.window import open_window, pump, tap  # noqa: E402

__all__ = ["Window", "open_window", "pump", "tap"]


def walk(widget: Widget) -> Iterator[Widget]:
    yield widget
    for child in widget.children:
        yield from walk(child)


def visible(widget: Widget) -> bool:
    node: Widget | None = widget
    while node is not None and node is not Window:
        if getattr(node, "opacity", 1) == 0 or node.height <= 0:
            return False
        node = node.parent
    return True


def labels(root: Widget) -> list[Label]:
    return [w for w in walk(root) if isinstance(w, Label) and w.text and visible(w)]


def find_button(root: Widget, name: str) -> Widget:
    for widget in walk(root):
        if getattr(widget, "name", None) == name and isinstance(widget, Label) and visible(widget):
            return widget
    raise LookupError(f"no button {name!r} on screen")
