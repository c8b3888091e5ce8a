"""Plate formats per region, as data, and the format fit that resolves look-alike characters.

A format is a sequence of character classes written compactly: ``LLLNNNN`` is three
letters then four digits; ``L{1,3}`` repeats a class. The fit takes, per position,
the recogniser's probabilities for a few characters and picks, for every format
of the right length, the best character the format allows there. So ``0`` becomes
``O`` only in a position where the format says a letter must stand, and the
confidence of a corrected character says that it was corrected.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from lpr.errors import UnknownRegionError

DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Mainland China leaves I and O out of serials so they cannot be taken for 1 and 0.
CN_LETTERS = LETTERS.replace("I", "").replace("O", "")
CN_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

# Other spellings of a plate character the recogniser may output: traditional
# forms of province characters (its training text mixes both scripts).
VARIANTS: dict[str, str] = {
    "粤": "粵",
    "鲁": "魯",
    "辽": "遼",
    "贵": "貴",
    "宁": "寧",
    "苏": "蘇",
    "赣": "贛",
    "陕": "陝",
    "闽": "閩",
    "沪": "滬",
    "云": "雲",
    "晋": "晉",
    "琼": "瓊",
}

CLASSES: dict[str, str] = {
    "L": LETTERS,
    "N": DIGITS,
    "A": LETTERS + DIGITS,
    "P": CN_PROVINCES,
    "C": CN_LETTERS,
    "D": CN_LETTERS + DIGITS,
}

# Glyph pairs that plate fonts and blur make hard to tell apart. A swap is only
# applied where a format forbids the character read and allows its twin.
LOOK_ALIKES: dict[str, str] = {
    "O": "0",
    "Q": "0",
    "D": "0",
    "U": "0",
    "I": "1",
    "J": "1",
    "L": "1",
    "T": "7",
    "Z": "2",
    "B": "8",
    "S": "5",
    "G": "6",
    "A": "4",
    "0": "O",
    "1": "I",
    "2": "Z",
    "4": "A",
    "5": "S",
    "6": "G",
    "7": "T",
    "8": "B",
}

# How much a look-alike swap keeps of the confidence of the character read: the
# format says which twin is right, but the glyph did not.
SWAP_CONFIDENCE = 0.95
# A read one character longer than a format may carry a stray mark (a bolt, a
# sticker, the edge of the frame); dropping it costs this factor.
DROP_PENALTY = 0.5
# A look-alike swap the recogniser itself did not consider halves a fit's score,
# and more than two changed characters (a dropped one counts) is no fit at all:
# a word such as "RENAULT" fits ``LLLNLNN`` only by three swaps (A4, L1, T7).
SWAP_PENALTY = 0.5
MAX_SWAPS = 2
# Where the region's formats disagree about a place (a letter in one, a digit in
# another) and the character read there has a look-alike the other format takes
# (O and 0 in the fifth place of a Brazilian plate), only the glyph can tell which
# plate it is. Its evidence is the log ratio of the recogniser's scores for the two
# characters; below this margin the place is held (see ``HELD_CONFIDENCE``). The
# value is calibrated on rendered plates (``python -m lpr.calibrate``): the next
# whole unit above the largest margin of a wrong read there, a plain O read as 0
# at about 11,000 to 1 (9.29).
MIN_GLYPH_MARGIN = 10.0
# The confidence a held place keeps: a coin toss between two plates, never enough
# to act on however many frames agree (they share the same glyph).
HELD_CONFIDENCE = 0.5

_TOKEN = re.compile(r"([A-Z])(?:\{(\d+)(?:,(\d+))?\})?")


def expand(spec: str) -> list[str]:
    """All fixed-length class strings a spec such as ``L{1,3}N{1,4}`` stands for."""
    parts: list[list[str]] = []
    pos = 0
    while pos < len(spec):
        match = _TOKEN.match(spec, pos)
        if match is None or match.group(1) not in CLASSES:
            raise ValueError(f"bad format spec {spec!r} at {pos}")
        cls, low, high = match.group(1), match.group(2), match.group(3)
        lo = int(low) if low else 1
        hi = int(high) if high else lo
        parts.append([cls * n for n in range(lo, hi + 1)])
        pos = match.end()
    return sorted({"".join(combo) for combo in itertools.product(*parts)})


@dataclass(frozen=True)
class PlateFormat:
    """One way plates of a region are written; ``prior`` ranks formats that both fit."""

    name: str
    spec: str
    prior: float = 1.0
    max_len: int = 8
    # A catch-all stands for the formats not listed: it is tried only when no listed
    # format fits. Every fit needs a letter and a digit the recogniser saw as such
    # (``_seen_both``), so words ("TEXAS") and burnt-in timestamps are not plates.
    catch_all: bool = False
    # Whether plates of this format carry a coloured band across their top
    # (Mercosur's blue band); None where the format does not say. A band seen, or
    # clearly missing, rules out the formats that say otherwise as rivals at a
    # place the glyph alone cannot settle (``lpr.plate_look``).
    top_band: bool | None = None
    patterns: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        pats = tuple(p for p in expand(self.spec) if len(p) <= self.max_len)
        object.__setattr__(self, "patterns", pats)


@dataclass(frozen=True)
class Region:
    name: str
    formats: tuple[PlateFormat, ...]

    @property
    def alphabet(self) -> str:
        """The characters the recogniser keeps: those the formats allow, and their
        look-alikes. A character read that no format allows (a Chinese plate's 0
        read as O, a letter mainland plates never use) is kept for the fit to swap;
        left out, it would count as a separator and drop a place (粤B0 read 粤B)."""
        chars: set[str] = set()
        for fmt in self.formats:
            for pattern in fmt.patterns:
                for cls in set(pattern):
                    chars.update(CLASSES[cls])
        for ch in list(chars):
            chars.update(twins(ch))
        return "".join(sorted(chars))


def _eu() -> Region:
    return Region(
        "eu",
        (
            PlateFormat("FR/IT AA123AA", "LLNNNLL"),
            PlateFormat("UK AB12CDE", "LLNNLLL"),
            PlateFormat("ES 1234ABC", "NNNNLLL"),
            PlateFormat("DE B AB 1234", "L{2,5}N{1,4}", prior=0.9),
            PlateFormat("PL/AT WX 12345", "L{2,3}N{4,5}", prior=0.9),
            PlateFormat("NL/BE sidecodes", "NNLLLN", prior=0.9),
            PlateFormat("NL NLLLNN", "NLLLNN", prior=0.9),
            PlateFormat("NL LLNNNL", "LLNNNL", prior=0.9),
            PlateFormat("BE 1ABC123", "NLLLNNN"),
            PlateFormat("PT AA00AA", "LLNNLL", prior=0.9),
            PlateFormat("PT 00AA00", "NNLLNN", prior=0.9),
            PlateFormat("SE ABC123", "LLLNNN", prior=0.9),
            PlateFormat("SE ABC12D", "LLLNNL", prior=0.9),
            PlateFormat("GR/HU ABC1234", "LLLNNNN", prior=0.9),
            PlateFormat("CZ 1A23456", "NLNNNNN", prior=0.9),
            PlateFormat("CH ZH123456", "LLN{5,6}", prior=0.8),
            PlateFormat("other European", "A{4,8}", prior=0.3, catch_all=True),
        ),
    )


def _us() -> Region:
    return Region(
        "us",
        (
            PlateFormat("1ABC234", "NLLLNNN"),
            PlateFormat("ABC1234", "LLLNNNN"),
            PlateFormat("ABC123", "LLLNNN", prior=0.9),
            PlateFormat("123ABC", "NNNLLL", prior=0.9),
            PlateFormat("AB12345", "LLNNNNN", prior=0.8),
            PlateFormat("other US", "A{5,8}", prior=0.3, catch_all=True),
        ),
    )


def _br() -> Region:
    return Region(
        "br",
        (
            PlateFormat("Brazil ABC1234", "LLLNNNN", top_band=False),
            PlateFormat("Mercosur ABC1D23", "LLLNLNN", top_band=True),
        ),
    )


def _cn() -> Region:
    return Region(
        "cn",
        (
            PlateFormat("China 京A12345", "PCDDDDD"),
            PlateFormat("China new energy 京AD12345", "PCDDDDDD", prior=0.9),
        ),
    )


def _any(regions: Iterable[Region]) -> Region:
    return Region("any", tuple(fmt for region in regions for fmt in region.formats))


_BASE = {r.name: r for r in (_eu(), _us(), _br(), _cn())}
REGIONS: dict[str, Region] = {**_BASE, "any": _any(_BASE.values())}
# Country codes (ISO 3166 and the international vehicle codes) and names, so a set
# labelled "de", "GB" or "us-ca" needs no lookup; a name with a subdivision after a
# dash or underscore ("us-ca", "de_by", "cn-bj") takes its country's formats.
_EUROPE = (
    "europe", "european", "eur", "eu27",
    "de", "d", "germany", "fr", "f", "france", "it", "i", "italy", "es", "e", "spain",
    "gb", "uk", "england", "britain", "united kingdom", "nl", "netherlands", "be", "belgium",
    "pt", "p", "portugal", "pl", "poland", "se", "s", "sweden", "cz", "czechia",
    "gr", "greece", "hu", "h", "hungary", "ch", "switzerland", "at", "a", "austria",
    "dk", "denmark", "fi", "fin", "finland", "no", "norway", "ie", "irl", "ireland",
    "lu", "l", "luxembourg", "sk", "slovakia", "si", "slo", "slovenia", "hr", "croatia",
    "ro", "romania", "bg", "bulgaria", "lt", "lithuania", "lv", "latvia", "ee", "est",
    "estonia",
)  # fmt: skip
ALIASES = {
    **dict.fromkeys(_EUROPE, "eu"),
    **dict.fromkeys(("usa", "american", "united states", "united states of america"), "us"),
    **dict.fromkeys(("brazil", "brasil", "brazilian", "bra", "mercosur"), "br"),
    **dict.fromkeys(("china", "chinese", "mainland china", "chn", "prc", "zh"), "cn"),
    "all": "any",
}


def _key(name: str) -> str:
    key = " ".join(name.strip().lower().split())
    key = ALIASES.get(key, key)
    if key not in REGIONS:
        country = key.replace("_", "-").split("-")[0]
        key = ALIASES.get(country, country) if country else key
    return key


def get_region(name: str) -> Region:
    try:
        return REGIONS[_key(name)]
    except KeyError:
        known = ", ".join(sorted(REGIONS))
        raise UnknownRegionError(
            f"unknown region {name!r}; known: {known}, or a country they cover "
            "(de, gb, fr, usa, us-ca, brazil, china, ...)"
        ) from None


@dataclass(frozen=True)
class Fit:
    """A read fitted to a format: the text, its per-character confidence, what was swapped."""

    text: str
    char_conf: tuple[float, ...]
    format_name: str
    score: float
    corrected: tuple[int, ...]
    # This text's share of the scores of every text the formats allow: near 1 when
    # one reading clearly wins, 0.5 when two formats read it equally well.
    share: float = 1.0
    table_swaps: int = 0
    catch_all: bool = False
    # The places where another format of the region reads a look-alike instead and
    # the glyph's margin (``MIN_GLYPH_MARGIN``) does not settle it, and the smallest
    # margin at any such place (infinite where no format disagrees).
    held: tuple[int, ...] = ()
    margin: float = float("inf")
    dropped: int = -1  # the position of the read left out to fit, if any


Position = Mapping[str, float]


def _best_in_class(dist: Position, allowed: str) -> tuple[str, float, bool, bool]:
    """The best character a class allows, from the recogniser's own scores or a look-alike.

    Returns the character, its confidence, whether it differs from the top read and
    whether it came from the look-alike table rather than from the recogniser.
    """
    top = max(dist, key=lambda ch: dist[ch]) if dist else ""
    best_char, best_p, from_table = "", 0.0, False
    for ch, p in dist.items():
        if ch in allowed and p > best_p:
            best_char, best_p = ch, p
    twin = LOOK_ALIKES.get(top)
    # The table speaks only where the recogniser gave the twin no real score of its own.
    if (
        top
        and top not in allowed
        and twin is not None
        and twin in allowed
        and dist.get(twin, 0.0) < 0.1 * dist[top]
    ):
        swapped = dist[top] * SWAP_CONFIDENCE
        if swapped > best_p:
            best_char, best_p, from_table = twin, swapped, True
    return best_char, best_p, best_char != top, from_table


def _fit_pattern(
    positions: Sequence[Position], pattern: str
) -> tuple[str, list[float], list[int], list[int]]:
    """The text ``pattern`` makes of the read, its confidences, the places changed and
    the places changed by the look-alike table alone."""
    chars: list[str] = []
    confs: list[float] = []
    corrected: list[int] = []
    from_table: list[int] = []
    for i, (dist, cls) in enumerate(zip(positions, pattern, strict=True)):
        ch, p, changed, by_table = _best_in_class(dist, CLASSES[cls])
        if not ch:
            return "", [], [], []
        chars.append(ch)
        confs.append(p)
        if changed:
            corrected.append(i)
        if by_table:
            from_table.append(i)
    return "".join(chars), confs, corrected, from_table


def _seen_both(text: str, from_table: Sequence[int]) -> bool:
    """Whether the recogniser itself saw a digit and a letter (or province character)
    of the text. A word whose only digits come from the look-alike table ("SAND" as
    SAN0, "Florida" as FLORI04, a car's badge) is not a plate, however well it reads:
    every plate format has both."""
    seen = [ch for i, ch in enumerate(text) if i not in from_table]
    return any(ch.isdigit() for ch in seen) and any(ch.isalpha() for ch in seen)


def _product(values: Iterable[float]) -> float:
    out = 1.0
    for v in values:
        out *= v
    return out


def fit(
    positions: Sequence[Position],
    region: Region,
    *,
    allow_drop: bool = True,
    top_band: bool | None = None,
    sticker: int | None = None,
) -> Fit | None:
    """The best format reading of ``positions`` (one score map per character), or None.

    ``top_band`` is what the plate shows above its characters (``lpr.plate_look``):
    it only settles places held between formats, never changes the text read.
    ``sticker`` is a place the picture shows to be no character (a coloured seal
    between a German plate's district and letters, read as an 8): the read without
    it is weighed as if read so, beside the read as it stands."""
    inside = sticker if sticker is not None and 0 < sticker < len(positions) - 1 else None
    # Read as it stands, a sticker counts as a character the picture says is none.
    fits = _fit_all(positions, region, 1.0 if inside is None else DROP_PENALTY)
    if inside is not None:
        seq = [p for j, p in enumerate(positions) if j != inside]
        for candidate in _fit_all(seq, region, 1.0).values():
            _keep_best(fits, replace(candidate, dropped=inside))
    if not fits and allow_drop and len(positions) >= 5:
        # Only a read that fits no format as it stands may lose one character.
        for i in range(len(positions)):
            seq = [p for j, p in enumerate(positions) if j != i]
            for candidate in _fit_all(seq, region, DROP_PENALTY, MAX_SWAPS - 1).values():
                _keep_best(fits, replace(candidate, dropped=i))
    # Rivals are weighed in tiers, and the first tier that has a fit decides:
    # listed formats as read, then listed formats with look-alike swaps, then the
    # catch-alls. Otherwise every "0" of a Brazilian plate would make a Mercosur
    # "O" its rival, and every catch-all would outvote the format that dictates.
    tiers = (
        [f for f in fits.values() if not f.catch_all and f.table_swaps == 0],
        [f for f in fits.values() if not f.catch_all],
        list(fits.values()),
    )
    pool = next((tier for tier in tiers if tier), [])
    if not pool:
        return None
    best = max(pool, key=lambda f: f.score)
    total = sum(f.score for f in pool)
    share = best.score / total if total > 0 else 0.0
    seq = [p for j, p in enumerate(positions) if j != best.dropped]
    margins = glyph_margins(
        seq, best.text, region, catch_all=best.catch_all, top_band=top_band, read_as=best
    )
    held = tuple(sorted(i for i, m in margins.items() if m < MIN_GLYPH_MARGIN))
    confs = tuple(min(c, HELD_CONFIDENCE) if i in held else c for i, c in enumerate(best.char_conf))
    return replace(
        best,
        share=share,
        char_conf=confs,
        held=held,
        margin=min(margins.values(), default=float("inf")),
    )


def _looks_like(region: Region, read_as: Fit, top_band: bool) -> bool:
    """Whether the format the text was read as says its plates look as this one does."""
    fmt = next((f for f in region.formats if f.name == read_as.format_name), None)
    return fmt is not None and fmt.top_band == top_band


def twins(ch: str) -> set[str]:
    """The look-alikes of ``ch``, in either direction of the table."""
    out = {LOOK_ALIKES[ch]} if ch in LOOK_ALIKES else set()
    out.update(k for k, v in LOOK_ALIKES.items() if v == ch)
    out.discard(ch)
    return out


def _matches(text: str, pattern: str) -> bool:
    return len(text) == len(pattern) and all(
        ch in CLASSES[cls] for ch, cls in zip(text, pattern, strict=True)
    )


def glyph_margins(
    positions: Sequence[Position],
    text: str,
    region: Region,
    *,
    catch_all: bool = False,
    top_band: bool | None = None,
    read_as: Fit | None = None,
) -> dict[int, float]:
    """Per place where another format of the region reads a look-alike instead (and
    does not allow the character read there): the glyph's evidence for the character
    read, ``log(p(read) / p(look-alike))``.

    The formats weighed are the fit's tier: the listed ones, and with a catch-all
    fit every format. A look-alike the recogniser did not rank among its best few
    is taken at the lowest score it did rank, so the margin is never overstated.
    """
    formats = [f for f in region.formats if catch_all or not f.catch_all]
    looks_right: set[str] = set()
    if top_band is not None and read_as is not None:
        if _looks_like(region, read_as, top_band):
            # The plate looks like the format read: formats that look otherwise are
            # no rivals.
            formats = [f for f in formats if f.top_band is None or f.top_band == top_band]
        else:
            # The plate looks like another format (a Mercosur band over a read of the
            # old plate's digits): where that format reads a look-alike, the glyph
            # has the look against it, and the place is held however sure it is.
            looks_right = {f.name for f in formats if f.top_band == top_band}
    patterns = [(f.name, p) for f in formats for p in f.patterns if len(p) == len(text)]
    margins: dict[int, float] = {}
    for i, ch in enumerate(text):
        for twin in twins(ch):
            alt = text[:i] + twin + text[i + 1 :]
            # A format that allows both characters there (a catch-all, China's
            # letter-or-digit places) does not disagree: it leaves the read alone.
            rivals = {n for n, p in patterns if _matches(alt, p) and ch not in CLASSES[p[i]]}
            if not rivals:
                continue
            dist = positions[i] if i < len(positions) else {}
            floor = min(dist.values(), default=0.0)
            p_read = dist.get(ch, 0.0)
            p_twin = dist.get(twin, floor)
            margin = math.log(max(p_read, 1e-12) / max(p_twin, 1e-12))
            if rivals & looks_right:
                margin = min(margin, 0.0)
            margins[i] = min(margins.get(i, math.inf), margin)
    return margins


def _keep_best(fits: dict[str, Fit], candidate: Fit) -> None:
    known = fits.get(candidate.text)
    if known is None or candidate.score > known.score:
        fits[candidate.text] = candidate


def _fit_all(
    positions: Sequence[Position], region: Region, penalty: float, max_changes: int = MAX_SWAPS
) -> dict[str, Fit]:
    """The best fit of every distinct text some format of the region allows."""
    fits: dict[str, Fit] = {}
    for fmt in region.formats:
        for pattern in fmt.patterns:
            if len(pattern) != len(positions):
                continue
            text, confs, corrected, from_table = _fit_pattern(positions, pattern)
            if not text or len(corrected) > max_changes:
                continue
            if not _seen_both(text, from_table):
                continue
            swaps = len(from_table)
            score = _product(confs) * fmt.prior * penalty * SWAP_PENALTY**swaps
            candidate = Fit(
                text, tuple(confs), fmt.name, score, tuple(corrected), 1.0, swaps, fmt.catch_all
            )
            _keep_best(fits, candidate)
    return fits


def fit_text(text: str, region: Region, confidence: float = 1.0) -> Fit | None:
    """Fit a plain string (no recogniser scores): look-alike swaps only where formats dictate."""
    positions = [{ch: confidence} for ch in normalise(text)]
    return fit(positions, region)


def normalise(text: str) -> str:
    """Upper-case, without the spaces, dots and dashes plates print between groups."""
    return "".join(ch for ch in text.upper() if ch.isalnum())
