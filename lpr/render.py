"""Synthetic plates rendered into camera-like frames, for CI tests and the camera simulator.

A plate is drawn with a system font (DejaVu for Latin plates, WenQuanYi Micro
Hei for the Chinese province character), framed like a real plate, optionally
on two lines, then warped into a scene with the faults gate cameras see: skew,
blur, glare, night noise, partial occlusion. Each sample records its box and
text in the layout of the development set, so ``prepaid lpr eval`` runs on a
rendered folder as it does on photos.

Needs Pillow (the ``lpr-train`` extra), unlike the reader: the simulator's
default feed is rendered once and shipped in ``lpr/simfeed``.
"""

from __future__ import annotations

import argparse
import functools
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from lpr.regions import CLASSES, CN_LETTERS, DIGITS, get_region
from lpr.types import Box

FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts"))
LATIN_FONTS = ("DejaVuSans-Bold.ttf", "DejaVuSansCondensed-Bold.ttf", "DejaVuSansMono-Bold.ttf")
CJK_FONTS = ("wqy-microhei.ttc", "DroidSansFallbackFull.ttf", "NotoSansCJK-Bold.ttc")

# (background, ink) in BGR: white EU/BR, yellow UK rear, grey BR old, blue CN.
COLOURS = {
    "white": ((235, 235, 235), (20, 20, 20)),
    "yellow": ((40, 200, 240), (20, 20, 20)),
    "grey": ((190, 195, 195), (25, 25, 25)),
    "blue": ((160, 70, 20), (245, 245, 245)),
}


def find_font(names: Sequence[str]) -> Path | None:
    """The first of ``names`` installed."""
    return next((path for path in map(_font_file, names) if path is not None), None)


@functools.cache
def _font_file(name: str) -> Path | None:
    # Cached: every sample looks its faces up, and each look walks the font folders.
    for folder in FONT_DIRS:
        hits = sorted(folder.rglob(name)) if folder.is_dir() else []
        if hits:
            return hits[0]
    return None


def random_plate(region: str, rng: random.Random) -> str:
    """A text that fits one of the region's specific formats (catch-alls are skipped)."""
    formats = [f for f in get_region(region).formats if f.prior >= 0.8]
    pattern = rng.choice(rng.choice(formats).patterns)
    # A mainland Chinese serial is digits with at most two letters among them
    # (GA 36): never letters alone, which the letter-or-digit class would allow.
    either = [i for i, cls in enumerate(pattern) if cls == "D"]
    letters = set(rng.sample(either, rng.randint(0, 2))) if either else set()

    def alphabet(i: int, cls: str) -> str:
        if cls != "D":
            return CLASSES[cls]
        return CN_LETTERS if i in letters else DIGITS

    return "".join(rng.choice(alphabet(i, cls)) for i, cls in enumerate(pattern))


@dataclass(frozen=True)
class Style:
    colours: str = "white"
    font: Path | None = None
    two_line_split: int = 0  # characters on the first line; 0 is a one-line plate
    char_height: int = 60
    band: str = ""  # the country code of a blue EU band on the left ("D", "NL"); none if empty
    header: str = ""  # small text above the registration: a US state's name
    footer: str = ""  # small text below it: a slogan, a dealer's name
    top_band: str = ""  # the country on a blue band across the top (Mercosur); none if empty
    # A blue band at the right end with a region's number in it (a French
    # department, an Italian province or year): no part of the registration.
    right_band: str = ""
    # Marks between characters that are no part of the registration, as (the number
    # of characters before it, the mark): "-" a printed hyphen (France, the
    # Netherlands), "seal" Germany's two round stickers, " " a wider gap.
    marks: tuple[tuple[int, str], ...] = ()
    # Clutter real plates carry that is no part of the registration (``dress``).
    bolts: bool = False  # two screw heads in the margins above and below the characters
    sticker: str = ""  # a validation sticker in a corner: "tl", "tr", "bl" or "br"
    stars: bool = False  # the EU's ring of stars above the band's country code
    scenery: bool = False  # a faint picture behind the characters (US specialty plates)
    dealer: str = ""  # a dealer's frame around the plate, its name on the bottom strip
    ink: tuple[int, int, int] | None = None  # the characters' colour (BGR) if not the scheme's


def _font(path: Path | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(str(path), size)


def render_plate(text: str, style: Style) -> np.ndarray:
    """The plate alone, upright, BGR, with a border and margins like a pressed plate."""
    bg, ink = COLOURS[style.colours]
    ink = style.ink or ink
    latin = style.font or find_font(LATIN_FONTS)
    cjk = find_font(CJK_FONTS)
    size = style.char_height
    lines = (
        [text[: style.two_line_split], text[style.two_line_split :]]
        if style.two_line_split
        else [text]
    )
    # Measure each line glyph by glyph, as CJK and Latin glyphs come from two fonts.
    # A mark is a glyph of its own: a hyphen in the plate's font, or a seal or gap
    # drawn as a blank of a seal's width.
    line_glyphs: list[list[tuple[str, ImageFont.FreeTypeFont | ImageFont.ImageFont]]] = []
    widths: list[int] = []
    gap = max(2, size // 10)
    seal_w = size * 3 // 5
    marks = dict(style.marks)
    start = 0
    for line in lines:
        glyphs: list[tuple[str, ImageFont.FreeTypeFont | ImageFont.ImageFont]] = []
        for k, ch in enumerate(line):
            mark = marks.get(start + k)
            if mark and k:
                glyphs.append((mark, _font(latin, size)))
            glyphs.append((ch, _font(cjk if ord(ch) > 127 else latin, size)))
        start += len(line)
        width = sum(_glyph_width(ch, f, seal_w) + gap for ch, f in glyphs)
        line_glyphs.append(glyphs)
        widths.append(width)
    pad_x, pad_y = size // 2, size // 3
    band_w = int(size * 0.7) if style.band else 0
    right_w = int(size * 0.7) if style.right_band else 0
    line_h = int(size * 1.25)
    small_h = size * 2 // 5
    # Mercosur: a band about half a character deep, the characters 0.3 below it.
    top_band_h = size // 2 if style.top_band else 0
    top = pad_y + (small_h + pad_y // 2 if style.header else 0)
    if style.top_band:
        top = top_band_h + int(size * 0.3)
    w = max(widths) + 2 * pad_x + band_w + right_w
    h = top + line_h * len(lines) + pad_y + (small_h + pad_y // 2 if style.footer else 0)
    img = Image.new("RGB", (w, h), bg[::-1])
    draw = ImageDraw.Draw(img)
    small_font = _font(latin, small_h)
    if style.scenery:
        _draw_scenery(draw, w, h, bg)
    if style.header:
        hx = (w - int(small_font.getlength(style.header))) // 2
        draw.text((hx, pad_y // 2), style.header, font=small_font, fill=(160, 20, 20))
    if style.footer:
        fx = (w - int(small_font.getlength(style.footer))) // 2
        fy = top + line_h * len(lines)
        draw.text((fx, fy), style.footer, font=small_font, fill=(20, 20, 120))
    if style.top_band:
        draw.rectangle((0, 0, w, top_band_h), fill=(0, 51, 153))
        name_font = _font(latin, top_band_h * 2 // 3)
        nx = (w - int(name_font.getlength(style.top_band))) // 2
        draw.text((nx, top_band_h // 8), style.top_band, font=name_font, fill=(255, 255, 255))
    for x0, band_width, label, short in (
        (0, band_w, style.band, 2),
        (w - right_w, right_w, style.right_band, 3),
    ):
        if not label:
            continue
        draw.rectangle((x0, 0, x0 + band_width, h), fill=(0, 51, 153))
        small = _font(latin, size // 2 if len(label) < short else size // 3)
        lx = x0 + (band_width - int(small.getlength(label))) // 2
        draw.text((lx, h - pad_y - size // 2), label, font=small, fill=(255, 255, 255))
    draw.rectangle((2, 2, w - 3, h - 3), outline=ink[::-1], width=max(2, size // 20))
    for row, (glyphs, width) in enumerate(zip(line_glyphs, widths, strict=True)):
        x = band_w + (w - band_w - right_w - width) // 2
        y = top + row * line_h
        for ch, font in glyphs:
            if ch == "seal":
                _draw_seals(draw, x, y, seal_w, size)
            elif ch != " ":
                draw.text((x, y), ch, font=font, fill=ink[::-1])
            x += _glyph_width(ch, font, seal_w) + gap
    if style.stars and band_w:
        _draw_stars(draw, band_w // 2, pad_y + size // 3, max(4, band_w * 3 // 10))
    if style.bolts:
        r = max(2, size // 12)
        for bx in (w // 4, w - w // 4):
            for by in (max(r + 3, top // 2), h - max(r + 3, pad_y // 2)):
                draw.ellipse(
                    (bx - r, by - r, bx + r, by + r), fill=(90, 90, 95), outline=(40, 40, 40)
                )
                draw.line((bx - r + 1, by, bx + r - 1, by), fill=(30, 30, 30), width=1)
    if style.sticker:
        _draw_sticker(draw, style.sticker, w, h, size, latin, text)
    if style.dealer:
        return cv2.cvtColor(
            np.asarray(_dealer_frame(img, style.dealer, size, latin)), cv2.COLOR_RGB2BGR
        )
    return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)


def _glyph_width(ch: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, seal_w: int) -> int:
    return seal_w if ch in ("seal", " ") else int(font.getlength(ch))


def _draw_seals(draw: ImageDraw.ImageDraw, x: int, y: int, w: int, size: int) -> None:
    """Germany's two stickers between district and letters: the inspection sticker
    (a coloured disc) over the state's seal (a grey one with a coat of arms)."""
    r = min(w // 2 - 1, size // 5)
    top = y + size // 5
    draw.ellipse((x, top, x + 2 * r, top + 2 * r), fill=(40, 160, 230), outline=(60, 60, 60))
    bottom = top + 2 * r + 2
    draw.ellipse((x, bottom, x + 2 * r, bottom + 2 * r), fill=(200, 200, 200), outline=(60, 60, 60))
    arms = (x + r // 2, bottom + r // 2, x + r + r // 2, bottom + r + r // 2)
    draw.ellipse(arms, fill=(150, 30, 30))


def _draw_scenery(draw: ImageDraw.ImageDraw, w: int, h: int, bg: tuple[int, int, int]) -> None:
    """A specialty plate's picture, pale enough for the characters to stay legible:
    a sun and a range of hills in tints of the field."""
    sun = (250, 215, 160)
    draw.ellipse((w * 3 // 5, h // 8, w * 3 // 5 + h // 2, h // 8 + h // 2), fill=sun)
    hills = [(0, h), (0, h * 3 // 4), (w // 5, h * 11 // 20), (w * 2 // 5, h * 7 // 10)]
    hills += [(w * 3 // 5, h // 2), (w * 4 // 5, h * 13 // 20), (w, h * 3 // 5), (w, h)]
    draw.polygon(hills, fill=(185, 215, 190))


def _draw_stars(draw: ImageDraw.ImageDraw, cx: int, cy: int, radius: int) -> None:
    """The EU's twelve yellow stars in a ring, drawn as dots at a plate's size."""
    dot = max(1, radius // 5)
    for k in range(12):
        a = 2 * np.pi * k / 12
        x, y = cx + radius * np.cos(a), cy + radius * np.sin(a)
        draw.ellipse((x - dot, y - dot, x + dot, y + dot), fill=(255, 204, 0))


def _draw_sticker(
    draw: ImageDraw.ImageDraw, corner: str, w: int, h: int, size: int, latin: Path | None, text: str
) -> None:
    """A registration sticker (a coloured tab with the expiry year) in a corner of the
    plate, over the margin and the end of the header."""
    sw, sh = size * 3 // 5, size * 2 // 5
    x = 6 if corner[1] == "l" else w - 6 - sw
    y = 6 if corner[0] == "t" else h - 6 - sh
    colours = ((255, 140, 0), (40, 170, 60), (220, 40, 40), (240, 220, 30))
    colour = colours[sum(map(ord, text)) % len(colours)]
    draw.rectangle((x, y, x + sw, y + sh), fill=colour, outline=(30, 30, 30))
    label_font = _font(latin, sh * 3 // 4)
    draw.text(
        (x + sw // 8, y + sh // 10),
        f"{sum(map(ord, text)) % 10 + 20}",
        font=label_font,
        fill=(0, 0, 0),
    )


def _dealer_frame(img: Image.Image, dealer: str, size: int, latin: Path | None) -> Image.Image:
    """The plate inside a dealer's black frame: thin at the top and sides, a strip
    with the dealer's name below (which hides a slogan there)."""
    side, strip = max(3, size // 10), size * 2 // 5
    framed = Image.new("RGB", (img.width + 2 * side, img.height + side + strip), (15, 15, 15))
    framed.paste(img, (side, side))
    draw = ImageDraw.Draw(framed)
    name_font = _font(latin, strip * 2 // 3)
    nx = (framed.width - int(name_font.getlength(dealer))) // 2
    draw.text((nx, img.height + side + strip // 8), dealer, font=name_font, fill=(230, 230, 230))
    return framed


@dataclass(frozen=True)
class Faults:
    """How hard the scene is on the camera; all off is a clean, straight plate."""

    skew: float = 0.0  # 0..1: rotation and perspective
    blur: float = 0.0  # 0..1: Gaussian and motion blur
    glare: float = 0.0  # 0..1: a bright washed-out patch over the plate
    night: float = 0.0  # 0..1: dark, noisy, low contrast
    occlusion: float = 0.0  # share of the plate's width hidden at one end


@dataclass(frozen=True)
class Sample:
    frame: np.ndarray
    box: Box
    text: str


def _background(size: tuple[int, int], rng: random.Random) -> np.ndarray:
    w, h = size
    top = np.array([rng.randint(60, 200) for _ in range(3)], np.float32)
    bottom = np.array([rng.randint(20, 120) for _ in range(3)], np.float32)
    ramp = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    frame = (top * (1 - ramp) + bottom * ramp) * np.ones((1, w, 1), np.float32)
    # A car body behind the plate, so the plate is not the only edge in the picture.
    body = tuple(int(v) for v in np.array([rng.randint(30, 220) for _ in range(3)]))
    x0, y0 = rng.randint(0, w // 4), rng.randint(h // 5, h // 3)
    cv2.rectangle(frame, (x0, y0), (w - rng.randint(0, w // 4), h), body, -1)
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, 4, frame.shape)
    out: np.ndarray = np.clip(frame + noise, 0, 255).astype(np.uint8)
    return out


def compose(
    plate: np.ndarray,
    text: str,
    *,
    rng: random.Random,
    size: tuple[int, int] = (1280, 720),
    plate_width: int = 220,
    faults: Faults | None = None,
) -> Sample:
    """The plate placed in a frame of ``size`` with ``faults`` applied."""
    f = faults or Faults()
    w, h = size
    frame = _background(size, rng)
    scale = plate_width / plate.shape[1]
    pw, ph = plate_width, max(8, round(plate.shape[0] * scale))
    small = cv2.resize(plate, (pw, ph), interpolation=cv2.INTER_AREA)
    if f.occlusion > 0:
        hidden = round(pw * f.occlusion)
        left = rng.random() < 0.5
        x0, x1 = (0, hidden) if left else (pw - hidden, pw)
        cv2.rectangle(small, (x0, 0), (x1, ph), (40, 40, 40), -1)
    x = rng.randint(w // 5, w - w // 5 - pw)
    y = rng.randint(h // 2, h - h // 8 - ph)
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    jitter = f.skew * 0.25 * ph
    angle = np.radians(rng.uniform(-12, 12) * f.skew)
    cx, cy = x + pw / 2, y + ph / 2
    dst = []
    for px, py in src:
        dx, dy = px - pw / 2, py - ph / 2
        rx = cx + dx * np.cos(angle) - dy * np.sin(angle) + rng.uniform(-jitter, jitter)
        ry = cy + dx * np.sin(angle) + dy * np.cos(angle) + rng.uniform(-jitter, jitter)
        dst.append([rx, ry])
    dst_arr = np.array(dst, np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst_arr)
    warped = cv2.warpPerspective(small, matrix, (w, h))
    mask = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), matrix, (w, h))
    frame[mask > 0] = warped[mask > 0]
    if f.glare > 0:
        glare = np.zeros((h, w), np.float32)
        gx = int(dst_arr[:, 0].min() + rng.random() * pw)
        cv2.ellipse(glare, (gx, int(cy)), (int(pw * 0.25), int(ph)), 0, 0, 360, 1.0, -1)
        glare = cv2.GaussianBlur(glare, (0, 0), ph / 3) * 255 * f.glare
        frame = np.clip(frame.astype(np.float32) + glare[:, :, None], 0, 255).astype(np.uint8)
    if f.blur > 0:
        sigma = 0.3 + 1.5 * f.blur
        frame = cv2.GaussianBlur(frame, (0, 0), sigma)
        length = 1 + round(6 * f.blur)
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0 / length
        frame = cv2.filter2D(frame, -1, kernel)
    if f.night > 0:
        dark = frame.astype(np.float32) * (1.0 - 0.75 * f.night)
        noise_rng = np.random.default_rng(rng.randint(0, 2**31))
        dark += noise_rng.normal(0, 12 * f.night, dark.shape)
        frame = np.clip(dark, 0, 255).astype(np.uint8)
    x0, y0 = np.floor(dst_arr.min(axis=0)).astype(int)
    x1, y1 = np.ceil(dst_arr.max(axis=0)).astype(int)
    return Sample(frame, Box(int(x0), int(y0), int(x1 - x0), int(y1 - y0)), text)


EU_BANDS = ("D", "F", "I", "E", "NL", "B", "P", "PL", "A")
US_STATES = ("California", "TEXAS", "Florida", "NEW YORK", "Illinois", "OHIO", "Arizona")
US_SLOGANS = ("dmv.ca.gov", "The Lone Star State", "Sunshine State", "Land of Lincoln")

REGION_LOOKS: dict[str, tuple[str, ...]] = {
    "br": ("grey", "white"),
    "eu": ("white", "yellow"),
    "us": ("white",),
    "cn": ("blue",),
}


MERCOSUR = re.compile(r"[A-Z]{3}[0-9][A-Z][0-9]{2}")


OLD_BR = re.compile(r"[A-Z]{3}[0-9]{4}")
FR_IT = re.compile(r"[A-Z]{2}[0-9]{3}[A-Z]{2}")
BR_CITIES = ("SP-SAO PAULO", "RJ-RIO DE JANEIRO", "BA-SALVADOR", "MG-BELO HORIZONTE", "DF-BRASILIA")


def looks_of(region: str, text: str, style: Style) -> Style:
    """The style a format dictates: a Brazilian plate in the Mercosur format is white
    with the blue BRASIL band across its top; the plate before it has its city's
    name on a strip above the registration; a French or Italian plate carries a
    second blue band on the right with a department's or province's number (both
    picked from the text, so the random draws of every other sample stay the same)."""
    if region == "br" and MERCOSUR.fullmatch(text):
        return replace(style, colours="white", top_band="BRASIL")
    if region == "br" and OLD_BR.fullmatch(text) and not style.header:
        return replace(style, header=BR_CITIES[sum(map(ord, text)) % len(BR_CITIES)])
    if region == "eu" and FR_IT.fullmatch(text) and style.band in ("F", "I"):
        return replace(style, right_band=f"{sum(map(ord, text)) % 95 + 1:02d}")
    return style


DEALERS = ("AutoNation Toyota", "Smith Motors", "CarMax", "Ford of Denver")
# Faces closer to real plates' (narrow, medium weight, monospaced) than DejaVu
# Bold, where the machine has them (Debian's fonts-liberation, fonts-freefont-ttf).
DRESS_FONTS = (
    "LiberationSansNarrow-Bold.ttf",
    "LiberationSansNarrow-Regular.ttf",
    "LiberationSans-Bold.ttf",
    "LiberationMono-Bold.ttf",
    "FreeSansBold.ttf",
    "FreeMonoBold.ttf",
)
US_INKS = ((120, 30, 20), (30, 30, 150), (20, 90, 20))  # navy, maroon, green (BGR)


def dress(region: str, text: str, style: Style) -> Style:
    """The clutter of real plates, drawn at random from the text alone (so the draws
    of the frame and of every other sample stay the same): screws, a validation
    sticker, the EU's stars, a specialty plate's picture and coloured characters, a
    dealer's frame; one plate in two in another face."""
    rng = random.Random(f"dress:{region}:{text}")
    us = region == "us"
    faces = [p for p in (find_font([n]) for n in DRESS_FONTS) if p is not None]
    face = rng.choice(faces) if faces and region != "cn" and rng.random() < 0.5 else style.font
    return replace(
        style,
        font=face,
        bolts=rng.random() < (0.6 if us else 0.3),
        sticker=rng.choice(("tl", "tr", "bl", "br")) if us and rng.random() < 0.5 else "",
        stars=bool(style.band),
        scenery=us and style.colours == "white" and rng.random() < 0.4,
        dealer=rng.choice(DEALERS)
        if us and not style.two_line_split and rng.random() < 0.3
        else "",
        ink=rng.choice(US_INKS) if us and rng.random() < 0.4 else None,
    )


def sample(
    region: str,
    rng: random.Random,
    *,
    faults: Faults | None = None,
    two_line: bool = False,
    size: tuple[int, int] = (1280, 720),
    dressed: bool = False,
) -> Sample:
    """A random plate of ``region`` rendered into a frame, with real plates' clutter
    if ``dressed``."""
    text = random_plate(region, rng)
    fonts = [p for p in (find_font([n]) for n in LATIN_FONTS) if p is not None]
    style = Style(
        colours=rng.choice(REGION_LOOKS.get(region, ("white",))),
        font=rng.choice(fonts) if fonts else None,
        two_line_split=(len(text) + 1) // 2 - 1 if two_line else 0,
        band=rng.choice(EU_BANDS) if region == "eu" and rng.random() < 0.5 else "",
        header=rng.choice(US_STATES) if region == "us" and rng.random() < 0.6 else "",
        footer=rng.choice(US_SLOGANS) if region == "us" and rng.random() < 0.4 else "",
    )
    style = looks_of(region, text, style)
    if dressed:
        style = dress(region, text, style)
    width = rng.randint(160, 260) if not two_line else rng.randint(130, 170)
    return compose(
        render_plate(text, style), text, rng=rng, size=size, plate_width=width, faults=faults
    )


CAMERA_NAMES = ("CAM {n:02d}", "GATE-IN {n}", "LANE{n} ENTRY", "CH{n}", "EXIT {n}")


def camera_overlay(frame: np.ndarray, key: str) -> tuple[str, ...]:
    """Burns a camera's on-screen text into ``frame`` (in place) as IP cameras do: the
    date and time, and the camera's name on the row under it, in a corner, white
    with a dark rim or on a dark strip. Drawn from ``key`` alone, so the frame's
    other draws stay the same. Returns the lines written."""
    rng = random.Random(f"overlay:{key}")
    h, w = frame.shape[:2]
    year, month, day = rng.randint(2016, 2026), rng.randint(1, 12), rng.randint(1, 28)
    hour, minute, second = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
    half = f"{hour % 12 or 12:02d}:{minute:02d}:{second:02d} {'PM' if hour >= 12 else 'AM'}"
    stamp = rng.choice(
        (
            f"{year}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}",
            f"{month:02d}/{day:02d}/{year} {half}",
            f"{day:02d}.{month:02d}.{year} {hour:02d}:{minute:02d}",
        )
    )
    lines = (stamp, rng.choice(CAMERA_NAMES).format(n=rng.randint(1, 16)))
    face = rng.choice((cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX))
    scale = rng.uniform(0.6, 1.4) * w / 1280
    thick = max(1, round(2 * scale))
    on_strip = rng.random() < 0.3
    top, left = rng.random() < 0.5, rng.random() < 0.5
    for i, text in enumerate(lines):
        (tw, th), base = cv2.getTextSize(text, face, scale, thick)
        x = 16 if left else w - tw - 16
        row = i if top else i - len(lines) + 1
        y = 16 + (row + 1) * (th + 12) if top else h - 16 + row * (th + 12)
        if on_strip:
            cv2.rectangle(frame, (x - 6, y - th - 6), (x + tw + 6, y + base + 4), (16, 16, 16), -1)
        else:
            cv2.putText(frame, text, (x, y), face, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
        cv2.putText(frame, text, (x, y), face, scale, (255, 255, 255), thick, cv2.LINE_AA)
    return lines


# The faults the benchmark and the calibration cycle through, one frame each.
FAULT_MIX = (
    Faults(),
    Faults(skew=0.7),
    Faults(blur=0.6),
    Faults(glare=0.6),
    Faults(night=0.7),
    Faults(occlusion=0.08),
)
MIXED_REGIONS = ("eu", "us", "br", "cn")


def mixed_set(
    seed: int, per_region: int, *, dressed: bool = False, overlay: bool = False
) -> Iterator[tuple[str, int, Sample]]:
    """``per_region`` frames of each region (region, index, sample): the faults cycled,
    one in five two-line; ``dressed`` adds real plates' clutter to the same plates,
    ``overlay`` the camera's time and name to the same frames.
    ``bench/lpr.py``'s rendered set is seed 2024, 20 each."""
    rng = random.Random(seed)
    for region in MIXED_REGIONS:
        for i in range(per_region):
            faults = FAULT_MIX[i % len(FAULT_MIX)]
            two_line = i % 5 == 4
            s = sample(region, rng, faults=faults, two_line=two_line, dressed=dressed)
            if overlay:
                camera_overlay(s.frame, f"{seed}:{region}:{i}")
            yield region, i, s


def write_set(
    folder: Path,
    count: int,
    *,
    seed: int = 0,
    regions: Sequence[str] = ("eu", "us", "br"),
    faults: Faults | None = None,
    size: tuple[int, int] = (1280, 720),
    quality: int = 90,
) -> list[Path]:
    """``count`` rendered frames with labels in the development set's layout."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    written = []
    for i in range(count):
        s = sample(regions[i % len(regions)], rng, faults=faults, size=size)
        name = f"render-{i:04d}.jpg"
        cv2.imwrite(str(folder / name), s.frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        b = s.box
        (folder / f"render-{i:04d}.txt").write_text(
            f"{name}\t{b.x}\t{b.y}\t{b.w}\t{b.h}\t{s.text}\n", encoding="utf-8"
        )
        written.append(folder / name)
    return written


def vehicle_frames(
    text: str,
    region: str,
    rng: random.Random,
    *,
    frames: int = 4,
    size: tuple[int, int] = (1280, 720),
    faults: Faults | None = None,
) -> list[Sample]:
    """One vehicle approaching the camera: the same plate growing over ``frames`` frames."""
    fonts = [p for p in (find_font([n]) for n in LATIN_FONTS) if p is not None]
    style = Style(
        colours=rng.choice(REGION_LOOKS.get(region, ("white",))),
        font=rng.choice(fonts) if fonts else None,
    )
    plate = render_plate(text, looks_of(region, text, style))
    step = 120 // max(1, frames - 1)
    return [
        compose(plate, text, rng=rng, size=size, plate_width=140 + i * step, faults=faults)
        for i in range(frames)
    ]


def write_feed(folder: Path, *, seed: int = 7, size: tuple[int, int] = (960, 540)) -> list[Path]:
    """The camera simulator's default feed: three vehicles, four frames each."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    plan = (("br", Faults()), ("eu", Faults(skew=0.5, blur=0.3)), ("us", Faults(night=0.5)))
    written = []
    for v, (region, faults) in enumerate(plan):
        text = random_plate(region, rng)
        for i, s in enumerate(vehicle_frames(text, region, rng, size=size, faults=faults)):
            path = folder / f"vehicle{v}-{i}.jpg"
            cv2.imwrite(str(path), s.frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
            written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lpr.render", description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--regions", default="eu,us,br")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--quality", type=int, default=90)
    parser.add_argument("--feed", action="store_true", help="write the simulator's feed")
    args = parser.parse_args(argv)
    if args.feed:
        feed = write_feed(args.folder, seed=args.seed or 7)
        print(f"wrote {len(feed)} simulator frames to {args.folder}")
        return 0
    paths = write_set(
        args.folder,
        args.count,
        seed=args.seed,
        regions=args.regions.split(","),
        size=(args.width, args.height),
        quality=args.quality,
    )
    print(f"wrote {len(paths)} frames to {args.folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
