"""Matching reads against known plates: a fuzzy match is never reported as exact."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lpr.matching import MatchKind, PlateRegistry, edit_distance

PLATE_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
plates = st.text(alphabet=PLATE_CHARS, min_size=5, max_size=8)


def one_apart(plate: str, i: int, ch: str) -> str:
    return plate[:i] + ch + plate[i + 1 :]


@pytest.mark.parametrize(
    ("a", "b", "d"),
    [("ABC1234", "ABC1234", 0), ("ABC1234", "ABC1284", 1), ("ABC1234", "ABC123", 1), ("", "AB", 2)],
)
def test_edit_distance(a: str, b: str, d: int) -> None:
    assert edit_distance(a, b) == d
    assert edit_distance(b, a) == d


@given(plates, plates, plates)
def test_edit_distance_is_a_metric(a: str, b: str, c: str) -> None:
    assert (edit_distance(a, b) == 0) == (a == b)
    assert edit_distance(a, c) <= edit_distance(a, b) + edit_distance(b, c)


def test_exact_fuzzy_ambiguous_none() -> None:
    registry = PlateRegistry(["ABC1234", "ABC1235", "XYZ9876"])
    assert registry.match("abc-1234").kind is MatchKind.EXACT
    fuzzy = registry.match("XYZ9875")
    assert (fuzzy.kind, fuzzy.plate, fuzzy.distance) == (MatchKind.FUZZY, "XYZ9876", 1)
    assert not fuzzy.is_exact
    # One edit from two known plates: neither can be chosen.
    ambiguous = registry.match("ABC1236")
    assert ambiguous.kind is MatchKind.AMBIGUOUS
    assert ambiguous.plate is None
    assert ambiguous.candidates == ("ABC1234", "ABC1235")
    assert registry.match("QQQ0000").kind is MatchKind.NONE
    assert registry.match("").kind is MatchKind.NONE


def test_max_distance_zero_means_exact_only() -> None:
    registry = PlateRegistry(["ABC1234"], max_distance=0)
    assert registry.match("ABC1235").kind is MatchKind.NONE


@given(
    base=st.text(alphabet=PLATE_CHARS, min_size=7, max_size=7),
    edits=st.lists(
        st.tuples(st.integers(0, 6), st.sampled_from(PLATE_CHARS)), min_size=1, max_size=6
    ),
    read_edit=st.tuples(st.integers(0, 6), st.sampled_from(PLATE_CHARS)),
    pick=st.integers(0, 6),
)
def test_plates_one_apart_never_give_a_false_exact(
    base: str, edits: list[tuple[int, str]], read_edit: tuple[int, str], pick: int
) -> None:
    # A registry seeded with plates that differ from each other by one character.
    known = {base} | {one_apart(base, i, ch) for i, ch in edits}
    registry = PlateRegistry(known)
    candidates = sorted(known)
    read = one_apart(candidates[pick % len(candidates)], *read_edit)
    match = registry.match(read)
    if match.kind is MatchKind.EXACT:
        assert read in known
        assert match.plate == read
    else:
        assert read not in known
        assert not match.is_exact
        if match.kind is MatchKind.FUZZY:
            assert match.plate in known
            assert match.distance == 1
            # A fuzzy match is unique: no other known plate is as close.
            assert sum(edit_distance(read, p) <= 1 for p in known) == 1


def test_registry_add_remove() -> None:
    registry = PlateRegistry()
    registry.add("abc 1234")
    assert "ABC1234" in registry
    assert len(registry) == 1
    registry.remove("ABC-1234")
    assert len(registry) == 0
