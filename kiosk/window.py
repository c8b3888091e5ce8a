"""Opening the kiosk's window: a real display when there is one, offscreen when not.

``prepare_environment`` must run before the first ``import kivy``: Kivy reads
these variables at import. Offscreen, SDL renders through Mesa's EGL into a real
GL window that nobody sees (PLATFORM.md), so screenshots and touches work the
same. ``pump`` advances Kivy's loop a few frames without ``App.run`` (tests, the
demo's walk-through); ``screenshot`` saves the window to an exact path.
``finish_frames`` ends every drawn frame in the GL driver when offscreen (else
the driver's memory grows with every screen switch).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

LANDSCAPE = (1280, 800)
PORTRAIT = (800, 1280)
_requested = LANDSCAPE
_finishing = False


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


def finish_frames() -> None:
    """Offscreen, wait after each drawn frame until the GL driver has rendered it.

    With a display, swapping the buffers ends a frame and the driver then lets go
    of what the frame used (under Xvfb the resident set stays flat). Offscreen the
    swap does nothing: SDL draws into an EGL pbuffer, and ``eglSwapBuffers`` on a
    pbuffer returns at once without flushing (the EGL spec; Mesa does so). No frame
    ever ended, and Mesa llvmpipe kept the memory of the textures the unended
    frames drew with, the ones Kivy had deleted too: each screen switch renders
    new label textures, so the resident set grew 1 to 6 MB a session without
    bound (2.2 GB after 700 sessions) while Python's heap and Kivy's counts of
    textures and buffers stayed flat. It was memory in use, not fragmentation
    (``malloc_trim`` gave nothing back). ``glFinish`` after each drawn frame (Kivy
    draws only when a canvas changed) ends it as a swap would and keeps memory
    flat; the wait is the rendering a display would wait for anyway. Bound once.
    """
    global _finishing
    if _finishing or os.environ.get("SDL_VIDEODRIVER") != "offscreen":
        return
    from kivy.core.window import Window
    from kivy.graphics.opengl import glFinish

    Window.fbind("on_flip", lambda *_: glFinish())
    _finishing = True


def pump(frames: int = 3, *, seconds: float = 0.0) -> None:
    """Run Kivy's loop for ``frames`` frames, and at least ``seconds``."""
    from kivy.base import EventLoop

    deadline = time.monotonic() + seconds
    done = 0
    while done < frames or time.monotonic() < deadline:
        EventLoop.idle()
        done += 1


def tap(widget: Any) -> None:
    """A real touch (down and up) at the widget's centre, through the window's
    touch dispatch, as a finger on the touchscreen gives it."""
    from kivy.tests.common import UnitTestTouch

    x, y = widget.to_window(*widget.center)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    touch.touch_up()
    pump(2)


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
