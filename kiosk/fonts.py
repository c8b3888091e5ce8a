"""The kiosk's font: one that covers Latin and Simplified Chinese, or a clear error.

Kivy's bundled Roboto has no CJK glyphs (Chinese renders as boxes). The kiosk
uses a font file in ``assets/fonts/`` when one is there, else Debian's
``fonts-wqy-microhei`` (Apache-2.0 or GPL with the font exception) or another
CJK font from the system, and registers it as Kivy's default font.
"""

from __future__ import annotations

from pathlib import Path

ASSET_FONTS = Path(__file__).resolve().parent.parent / "assets" / "fonts"
SYSTEM_FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)


class FontMissing(RuntimeError):
    """No font that covers Chinese: the kiosk refuses to show boxes."""


def find_cjk_font() -> Path:
    for pattern in ("*.ttf", "*.otf", "*.ttc"):
        for found in sorted(ASSET_FONTS.glob(pattern)):
            return found
    for path in SYSTEM_FONTS:
        if path.exists():
            return path
    raise FontMissing(
        "no font covering Chinese: install Debian's fonts-wqy-microhei "
        "(apt-get install fonts-wqy-microhei) or put a TTF/OTF/TTC font in "
        f"{ASSET_FONTS}; tried {', '.join(str(p) for p in SYSTEM_FONTS)}"
    )


def register_default_font() -> Path:
    """Make the CJK font Kivy's default for every label; returns its path."""
    from kivy.core.text import DEFAULT_FONT, LabelBase

    path = find_cjk_font()
    LabelBase.register(DEFAULT_FONT, str(path))
    return path
