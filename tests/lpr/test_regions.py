"""Region formats as data, and look-alike correction only where a format dictates it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lpr.errors import UnknownRegionError
from lpr.regions import (
    CLASSES,
    HELD_CONFIDENCE,
    LOOK_ALIKES,
    MIN_GLYPH_MARGIN,
    expand,
    fit,
    fit_text,
    get_region,
    glyph_margins,
    normalise,
    twins,
)


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
    # Country codes and names, and a subdivision after the country.
    for name, region in (
        ("GB", "eu"),
        ("de", "eu"),
        (" United  Kingdom ", "eu"),
        ("us-ca", "us"),
        ("US_NY", "us"),
        ("cn-bj", "cn"),
        ("br-sp", "br"),
        ("de_by", "eu"),
    ):
        assert get_region(name).name == region, name
    for unknown in ("atlantis", "ca", "-", "xx-us"):
        with pytest.raises(UnknownRegionError, match="known: "):
            get_region(unknown)


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


@pytest.mark.parametrize(
    ("word", "region"),
    # A word whose only digit comes from the look-alike table fits the German
    # L{2,5}N{1,4} by one swap (a car's badge, a state's name on a plate).
    [("SAND", "any"), ("FIEL", "eu"), ("CITRO", "any"), ("FLORIDA", "any"), ("OHIO", "us")],
)
def test_a_word_whose_digits_come_from_the_table_is_no_plate(word: str, region: str) -> None:
    assert fit_text(word, get_region(region)) is None


def test_a_plate_needs_a_digit_and_a_letter_the_recogniser_saw() -> None:
    # Swaps still restore plates where the recogniser saw some of each itself...
    fitted = fit_text("SAN04", get_region("eu"))
    assert fitted is not None
    assert fitted.text == "SAN04"
    fitted = fit_text("0PQ1234", get_region("br"))
    assert fitted is not None
    assert fitted.text == "OPQ1234"
    # ...but letters alone, or digits alone, are never made a plate by the table.
    assert fit_text("1234567", get_region("br")) is None
    assert fit_text("OOOOOOO", get_region("br")) is None


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


def _scores(text: str, place: int, dist: dict[str, float]) -> list[dict[str, float]]:
    """Recogniser-like scores: sure of every character but ``place``, which gets ``dist``."""
    return [dist if i == place else {c: 0.999, "#": 1e-6} for i, c in enumerate(text)]


def test_a_look_alike_where_two_formats_disagree_is_held_unless_the_glyph_decides() -> None:
    br = get_region("br")
    # "0" at the fifth place: the old format reads PFP9095, Mercosur PFP9O95. The
    # recogniser sure of "0" at 5,000 to 1 (a plain O so read has been seen) is
    # not enough to act on...
    unsure = fit(_scores("PFP9095", 4, {"0": 0.9998, "O": 0.0002}), br)
    assert unsure is not None
    assert unsure.text == "PFP9095"
    assert unsure.held == (4,)
    assert unsure.margin < MIN_GLYPH_MARGIN
    assert min(unsure.char_conf) <= HELD_CONFIDENCE
    # ...a decisive glyph is.
    sure = fit(_scores("PFP9095", 4, {"0": 0.99999, "O": 1e-7}), br)
    assert sure is not None
    assert sure.held == ()
    assert sure.margin >= MIN_GLYPH_MARGIN
    assert min(sure.char_conf) > 0.99


def test_the_plates_look_settles_a_held_place_only_when_it_agrees_with_the_read() -> None:
    br = get_region("br")
    unsure = _scores("PFP9095", 4, {"0": 0.9998, "O": 0.0002})
    # No blue band over an old-format read: Mercosur is no rival, nothing is held.
    old = fit(unsure, br, top_band=False)
    assert old is not None
    assert (old.text, old.held) == ("PFP9095", ())
    assert min(old.char_conf) > 0.99
    # A blue band over it: the plate looks like Mercosur, the read does not. The
    # text is never changed by the look, and the place stays held.
    banded = fit(unsure, br, top_band=True)
    assert banded is not None
    assert (banded.text, banded.held) == ("PFP9095", (4,))
    assert min(banded.char_conf) <= HELD_CONFIDENCE
    # A grey frame (no evidence) holds it as before.
    grey = fit(unsure, br, top_band=None)
    assert grey is not None
    assert grey.held == (4,)
    # A Mercosur read under its band is settled the same way.
    merc = fit(_scores("PFP9O95", 4, {"O": 0.9998, "0": 0.0002}), br, top_band=True)
    assert merc is not None
    assert (merc.text, merc.held) == ("PFP9O95", ())


def test_a_look_against_the_read_holds_the_place_however_sure_the_glyph() -> None:
    # A Mercosur plate's O drawn like a zero, read as the old plate's digit at
    # 10^7 to 1: the glyph alone would settle it, but the plate's blue band says
    # Mercosur, so the place is held (the text is never changed by the look).
    sure_zero = _scores("ELV6048", 4, {"0": 0.99999, "O": 1e-7})
    assert fit(sure_zero, get_region("br")) is not None
    banded = fit(sure_zero, get_region("br"), top_band=True)
    assert banded is not None
    assert (banded.text, banded.held) == ("ELV6048", (4,))
    assert min(banded.char_conf) <= HELD_CONFIDENCE
    # The same with no region configured: the read fits a format that says nothing
    # of a band (Greek ABC1234), and Mercosur, which the band speaks for, disagrees.
    anywhere = fit(sure_zero, get_region("any"), top_band=True)
    assert anywhere is not None
    assert anywhere.held == (4,)
    # No band seen: the glyph settles it as before.
    plain = fit(sure_zero, get_region("br"), top_band=False)
    assert plain is not None
    assert plain.held == ()
    assert min(plain.char_conf) > 0.99


def test_formats_that_do_not_say_how_they_look_stay_rivals() -> None:
    # With no region configured a Greek or Hungarian ABC1234 reads like the old
    # Brazilian plate and says nothing of a band: the missing band settles nothing.
    fitted = fit(_scores("PFP9095", 4, {"0": 0.9998, "O": 0.0002}), get_region("any"),
                 top_band=False)  # fmt: skip
    assert fitted is not None
    assert fitted.held == (4,)


def test_places_where_the_formats_agree_are_never_held() -> None:
    # The first three places are letters in both Brazilian formats, the last two
    # digits: an unsure O there is the format's to settle, not the glyph's.
    fitted = fit(_scores("OBC1234", 0, {"O": 0.9, "0": 0.1}), get_region("br"))
    assert fitted is not None
    assert fitted.held == ()
    margins = glyph_margins(
        _scores("ABC1234", 6, {"4": 0.6, "A": 0.4}), "ABC1234", get_region("br")
    )
    assert 6 not in margins
    assert set(margins) == {4}  # "1" at the fifth place: Mercosur would read "I"


def test_a_format_that_allows_both_does_not_disagree() -> None:
    # Chinese serials take a letter or a digit at their third place: 8 and B there
    # are the recogniser's call, as they were before, and nothing is held.
    fitted = fit(_scores("京A8B123", 2, {"8": 0.97, "B": 0.03}), get_region("cn"))
    assert fitted is not None
    assert fitted.held == ()


def test_every_look_alike_pair_is_weighed_both_ways() -> None:
    assert twins("0") == {"O", "Q", "D", "U"}
    assert twins("O") == {"0"}
    assert twins("K") == set()


def test_a_sticker_place_is_weighed_left_out() -> None:
    region = get_region("eu")
    # MK8A1234: the 8 is Germany's seal; as read it fits only with a swap (B).
    read = [{ch: 0.99} for ch in "MK8A1234"]
    plain = fit(read, region)
    assert plain is not None
    assert plain.text != "MKA1234"
    sealed = fit(read, region, sticker=2)
    assert sealed is not None
    assert sealed.text == "MKA1234"
    assert sealed.dropped == 2
    # A place at either end is never taken for a seal.
    end = fit(read, region, sticker=0)
    assert end is not None
    assert end.text == plain.text
