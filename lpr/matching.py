"""Matching a read against the plates a gate knows, by edit distance.

An exact match is the read itself, character for character. A fuzzy match is a
single known plate within the allowed distance, with no other known plate as
close: it may close a parking session but never opens the gate on its own
(DESIGN.md, "Credentials"). Two known plates equally close make the read
ambiguous, which is no match.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from lpr.regions import normalise


class MatchKind(Enum):
    EXACT = "exact"
    FUZZY = "fuzzy"
    AMBIGUOUS = "ambiguous"
    NONE = "none"


@dataclass(frozen=True)
class Match:
    kind: MatchKind
    plate: str | None  # the known plate, for EXACT and FUZZY only
    distance: int | None
    candidates: tuple[str, ...] = ()  # the tied plates of an AMBIGUOUS match

    @property
    def is_exact(self) -> bool:
        return self.kind is MatchKind.EXACT


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions cost one each."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


class PlateRegistry:
    """The known plates of one gate, normalised (upper-case, no separators)."""

    def __init__(self, plates: Iterable[str] = (), *, max_distance: int = 1) -> None:
        if max_distance < 0:
            raise ValueError("max_distance must be >= 0")
        self.max_distance = max_distance
        self._plates: set[str] = set()
        for plate in plates:
            self.add(plate)

    def add(self, plate: str) -> None:
        key = normalise(plate)
        if key:
            self._plates.add(key)

    def remove(self, plate: str) -> None:
        self._plates.discard(normalise(plate))

    def __contains__(self, plate: object) -> bool:
        return isinstance(plate, str) and normalise(plate) in self._plates

    def __len__(self) -> int:
        return len(self._plates)

    def match(self, read: str) -> Match:
        text = normalise(read)
        if not text:
            return Match(MatchKind.NONE, None, None)
        if text in self._plates:
            return Match(MatchKind.EXACT, text, 0)
        best: list[str] = []
        best_distance = self.max_distance + 1
        for plate in self._plates:
            if abs(len(plate) - len(text)) > self.max_distance:
                continue
            d = edit_distance(text, plate)
            if d > self.max_distance:
                continue
            if d < best_distance:
                best, best_distance = [plate], d
            elif d == best_distance:
                best.append(plate)
        if not best:
            return Match(MatchKind.NONE, None, None)
        if len(best) > 1:
            return Match(MatchKind.AMBIGUOUS, None, best_distance, tuple(sorted(best)))
        return Match(MatchKind.FUZZY, best[0], best_distance)
