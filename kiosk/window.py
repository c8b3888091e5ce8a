"""Opening the kiosk's window: a real display when there is one, offscreen when not.

``prepare_environment`` must run before the first ``import kivy``: Kivy reads
these variables at import. Offscreen, SDL renders through Mesa's EGL into a real
GL window that nobody sees (PLATFORM.md), so screenshots and touches work the
same. ``pump`` advances Kivy's loop a few frames without ``App.run`` (tests, the
demo's walk-through); ``screenshot`` saves the window to an exact path.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

LANDSCAPE = (1280, 800)
PORTRAIT = (800, 1280)
_requested = LANDSCAPE


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def prepare_environment(
    *, offscreen: bool | None = None, size: tuple[int, int] = LANDSCAPE
) -> bool:
    """Set Kivy's environment; returns True when the window will be offscreen."""
    offscreen = (not has_display()) if offscreen is None else offscreen
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_CONFIG", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KIVY_METRICS_DENSITY", "1")
    os.environ.setdefault("KIVY_DPI", "96")
    if offscreen:
        os.environ["SDL_VIDEODRIVER"] = "offscreen"
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from kivy.config import Config

    global _requested
    _requested = size
    # SDL's offscreen surface never grows past the size it was made with: make it
    # square at the larger side, so both orientations fit, and size it after.
    side = max(*LANDSCAPE, *PORTRAIT)
    width, height = (side, side) if offscreen else size
    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "resizable", "1")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    Config.set("kivy", "exit_on_escape", "0")
    return offscreen


def open_window() -> None:
    """Create the window (if not yet) at the size ``prepare_environment`` asked for."""
    from kivy.base import EventLoop
    from kivy.core.window import Window

    EventLoop.ensure_window()
    if tuple(Window.size) != _requested:
        Window.size = _requested


def pump(frames: int = 3, *, seconds: float = 0.0) -> None:
    """Run Kivy's loop for ``frames`` frames, and at least ``seconds``."""
    from kivy.base import EventLoop

    deadline = time.monotonic() + seconds
    done = 0
    while done < frames or time.monotonic() < deadline:
        EventLoop.idle()
        done += 1


def resize(size: tuple[int, int]) -> None:
    from kivy.core.window import Window

    Window.size = size
    pump(3)


def screenshot(path: Path) -> Path:
    """The window as a PNG at ``path`` (Kivy's own call numbers its files)."""
    from kivy.core.window import Window

    path.parent.mkdir(parents=True, exist_ok=True)
    pump(2)
    saved = Window.screenshot(name=str(path.with_name(f".shot-{path.stem}.png")))
    os.replace(saved, path)
    return path
