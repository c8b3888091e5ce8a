"""Every screen in both languages and orientations: nothing overflows, no Chinese box glyphs,
touch targets of at least 15 mm, and every text the screens show is in the catalogues."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from kivy import kivy_data_dir
from kivy.core.text import Label as CoreLabel
from kivy.metrics import mm
from kivy.uix.label import Label

from kiosk import app as kiosk_app
from kiosk import screens
from kiosk.app import KioskApp
from kiosk.fonts import find_cjk_font, register_default_font
from kiosk.gallery import GALLERY, gallery_controller
from kiosk.i18n import LOCALE_DIR, translator
from kiosk.screens.names import DEVICE_NAMES, STATE_NAMES, WALLET_NAMES
from kiosk.screens.widgets import Touch
from kiosk.view import MESSAGES
from kiosk.window import LANDSCAPE, PORTRAIT, resize
from tests.kiosk.kivy_support import Window, labels, open_window, pump, tap, walk

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
DRAWN = re.compile(r"[^\x00-\x7f\s]")  # beyond ASCII: Chinese, symbols, the PIN dots


@pytest.fixture(scope="module")
def app() -> Iterator[KioskApp]:
    register_default_font()
    open_window()
    kiosk = KioskApp(gallery_controller())
    root = kiosk.build()
    Window.add_widget(root)
    yield kiosk
    Window.remove_widget(root)
    kiosk.controller.journal.close()


def pixels(text: str, font: str | None = None) -> bytes:
    options: dict[str, object] = {"font_size": 40}
    if font:
        options["font_name"] = font
    label = CoreLabel(text=text, **options)
    label.refresh()
    return bytes(label.texture.pixels)


def boxes(text: str, font: str | None = None) -> set[str]:
    """The characters of ``text`` beyond ASCII (Chinese, symbols) that render as the font's
    missing-glyph box (or blank)."""
    missing = pixels("\U000f0000", font)  # a private-use code point no font draws
    found = set()
    for char in set(DRAWN.findall(text)):
        drawn = pixels(char, font)
        if drawn == missing or not any(drawn[3::4]):
            found.add(char)
    return found


def test_the_box_check_catches_a_font_without_chinese() -> None:
    roboto = os.path.join(kivy_data_dir, "fonts", "Roboto-Regular.ttf")  # Kivy's own: no CJK
    assert boxes("电费", font=roboto) == {"电", "费"}
    assert boxes("电费", font=str(find_cjk_font())) == set()


def test_the_box_check_catches_a_symbol_the_font_lacks() -> None:
    # U+232B ERASE TO THE LEFT: the kiosk's font has no glyph for it.
    assert boxes("\u232b 0", font=str(find_cjk_font())) == {"\u232b"}


def problems_of(name: str, label: Label, size: tuple[int, int]) -> list[str]:
    """What is wrong with one label on the screen: overflow, off screen, a touch target
    under 15 mm, a character drawn as a box."""
    problems = []
    width, height = label.texture_size
    if width > label.width + 1 or height > label.height + 1:
        problems.append(
            f"{name}: {label.text!r} needs {width:.0f}x{height:.0f}, "
            f"has {label.width:.0f}x{label.height:.0f}"
        )
    x, y = label.to_window(label.x, label.y)
    if x < -1 or y < -1 or x + label.width > size[0] + 1 or y + label.height > size[1] + 1:
        problems.append(f"{name}: {label.text!r} is off the screen")
    if isinstance(label, Touch) and min(label.size) < mm(15) - 0.5:
        problems.append(f"{name}: button {label.text!r} is {label.size}, under 15 mm")
    if missing := boxes(label.text):
        problems.append(f"{name}: {sorted(missing)} render as boxes in {label.text!r}")
    return problems


@pytest.mark.parametrize("size", [LANDSCAPE, PORTRAIT], ids=["landscape", "portrait"])
@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_every_screen_fits_and_renders(app: KioskApp, size: tuple[int, int], language: str) -> None:
    resize(size)
    assert tuple(Window.size) == size
    problems = []
    for name, view in GALLERY.items():
        app.show(replace(view, language=language))
        pump(3)
        for label in labels(app.root_widget.manager.current_screen):
            problems += problems_of(name, label, size)
        if language == "zh_CN":
            shown = " ".join(w.text for w in walk(app.root_widget) if hasattr(w, "text"))
            assert CJK.search(shown), f"{name}: no Chinese on a Chinese screen"
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("size", [LANDSCAPE, PORTRAIT], ids=["landscape", "portrait"])
@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_the_pin_pad_fits_and_renders(app: KioskApp, size: tuple[int, int], language: str) -> None:
    resize(size)
    app.show(replace(GALLERY["idle"], language=language))
    pad = app.open_pin_pad()
    try:
        pump(seconds=0.3)  # the popup opens with an animation
        keys = {w.name: w for w in labels(pad) if isinstance(w, Touch)}
        assert set(keys) == {f"pin:{k}" for k in (*"0123456789", "delete", "OK")}
        for key in ("4", "2", "7", "delete"):  # the entered digits show as dots
            tap(keys[f"pin:{key}"])
        shown = labels(pad)
        assert "●●" in {label.text for label in shown}
        problems = [p for label in shown for p in problems_of("PIN pad", label, size)]
        assert not problems, "\n".join(problems)
    finally:
        pad.dismiss()
        pump(seconds=0.3)


def test_every_text_the_screens_use_is_translated() -> None:
    modules = [Path(kiosk_app.__file__), *sorted(Path(screens.__file__).parent.glob("*.py"))]
    source = "\n".join(module.read_text() for module in modules)
    used = set(re.findall(r'self\.t\(\s*"([^"]+)"', source))
    used |= set(re.findall(r'tr\(self\.language,\s*"([^"]+)"', source))
    used |= set(re.findall(r'^\s+"([A-Z][^"]+)"\s*$', source, re.M))  # multi-line literals
    used |= set(MESSAGES.values()) | set(WALLET_NAMES.values())
    used |= set(STATE_NAMES.values()) | set(DEVICE_NAMES.values())
    catalogue = translator("zh_CN")
    untranslated = sorted(text for text in used if catalogue.gettext(text) == text)
    assert not untranslated, f"missing from {LOCALE_DIR}/zh_CN: {untranslated}"
