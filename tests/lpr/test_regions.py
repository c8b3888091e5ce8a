"""Region formats as data, and look-alike correction only where a format dictates it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lpr.errors import UnknownRegionError
from lpr.regions import CLASSES, LOOK_ALIKES, expand, fit, fit_text, get_region, normalise


def test_expand_repeats_classes() -> None:
    assert expand("LLLNNNN") == ["LLLNNNN"]
    assert expand("L{1,2}N{2}") == ["LLNN", "LNN"]


def test_expand_rejects_unknown_class() -> None:
    with pytest.raises(ValueError, match="bad format spec"):
        expand("LLX")


def test_region_names_and_aliases() -> None:
    assert get_region("BR").name == "br"
    assert get_region("brazil").name == "br"
    assert get_region("China").name == "cn"
    with pytest.raises(UnknownRegionError, match="known: "):
        get_region("atlantis")


def test_normalise_strips_separators() -> None:
    assert normalise("abc-1234") == "ABC1234"
    assert normalise("AB 12·CD") == "AB12CD"


@pytest.mark.parametrize(
    ("read", "region", "expected", "fmt"),
    [
        ("ABC1234", "br", "ABC1234", "Brazil ABC1234"),
        ("ABC1D23", "br", "ABC1D23", "Mercosur ABC1D23"),
        # The first three places are letters in both Brazilian formats.
        ("A8C1234", "br", "ABC1234", "Brazil ABC1234"),
        ("0PQ1234", "br", "OPQ1234", "Brazil ABC1234"),
        # The last four are digits in the old format: O and I become 0 and 1.
        ("ABC12O4", "br", "ABC1204", "Brazil ABC1234"),
        ("5B12CDE", "eu", "SB12CDE", "UK AB12CDE"),
        ("粤B12345", "cn", "粤B12345", "China 京A12345"),
        ("京AD12345", "cn", "京AD12345", "China new energy 京AD12345"),
    ],
)
def test_fit_text(read: str, region: str, expected: str, fmt: str) -> None:
    fitted = fit_text(read, get_region(region))
    assert fitted is not None
    assert (fitted.text, fitted.format_name) == (expected, fmt)


def test_no_correction_where_the_format_allows_both() -> None:
    # Mercosur allows a letter or a digit nowhere else than its fifth place, but
    # the old format takes "0" there: a plate that fits as read is left alone.
    fitted = fit_text("ABC1034", get_region("br"))
    assert fitted is not None
    assert fitted.text == "ABC1034"
    assert fitted.corrected == ()


def test_a_corrected_character_is_less_confident() -> None:
    fitted = fit_text("A8C1234", get_region("br"))
    assert fitted is not None
    assert fitted.corrected == (1,)
    assert fitted.char_conf[1] < fitted.char_conf[0]


def test_chinese_plates_never_take_i_or_o() -> None:
    fitted = fit_text("京A1234O", get_region("cn"))
    assert fitted is not None
    assert fitted.text == "京A12340"


def test_words_are_not_plates() -> None:
    # Three look-alike swaps would make RENAULT fit LLLNLNN; that is no plate.
    assert fit_text("RENAULT", get_region("br")) is None
    assert fit_text("TEXAS", get_region("us")) is None
    assert fit_text("20191021", get_region("us")) is None


def test_a_rival_format_lowers_the_share() -> None:
    # "1" read at a place where the two Brazilian formats disagree, with the
    # recogniser unsure between "1" and "I": both texts are plates.
    positions = [{c: 0.99} for c in "ABC1"] + [{"1": 0.5, "I": 0.45}] + [{c: 0.99} for c in "23"]
    fitted = fit(positions, get_region("br"))
    assert fitted is not None
    assert fitted.text == "ABC1123"
    assert 0.5 < fitted.share < 0.6


SWAPPABLE_LETTERS = "".join(
    c for c in CLASSES["L"] if c in LOOK_ALIKES and LOOK_ALIKES[LOOK_ALIKES[c]] == c
)


@given(
    letters=st.text(alphabet=CLASSES["L"], min_size=3, max_size=3),
    digits=st.text(alphabet=CLASSES["N"], min_size=4, max_size=4),
    data=st.data(),
)
def test_format_dictated_swaps_restore_brazilian_plates(
    letters: str, digits: str, data: st.DataObject
) -> None:
    plate = letters + digits
    fitted = fit_text(plate, get_region("br"))
    assert fitted is not None
    assert fitted.text == plate
    # Misread one letter as its look-alike digit: the format puts it back.
    spots = [i for i, c in enumerate(letters) if c in SWAPPABLE_LETTERS]
    if spots:
        i = data.draw(st.sampled_from(spots))
        misread = plate[:i] + LOOK_ALIKES[plate[i]] + plate[i + 1 :]
        fixed = fit_text(misread, get_region("br"))
        assert fixed is not None
        assert fixed.text == plate
        assert i in fixed.corrected


@given(st.text(alphabet=CLASSES["A"], min_size=0, max_size=10))
def test_fit_never_invents_length_or_characters(text: str) -> None:
    for region in ("br", "eu", "us", "cn", "any"):
        fitted = fit_text(text, get_region(region))
        if fitted is None:
            continue
        assert len(fitted.text) in (len(text), len(text) - 1)
        assert all(0.0 <= c <= 1.0 for c in fitted.char_conf)
        assert len(fitted.corrected) <= 2
