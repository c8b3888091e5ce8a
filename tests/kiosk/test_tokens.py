"""Residents' QR tokens at the kiosk: any scanned text is a token or a refusal."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kiosk.tokens import PREFIX, QrTokenVerifier, make_qr_token

KEY = b"estate qr key"
NOW = 1_800_000_000


def test_a_good_token_opens_its_unit_once() -> None:
    verifier = QrTokenVerifier(KEY)
    token = make_qr_token(KEY, "A-0101", NOW + 60)
    assert verifier.verify(token, NOW) == ("A-0101", "")
    assert verifier.verify(token, NOW)[0] is None  # a replay


def test_an_expiry_of_non_ascii_digits_is_refused_not_a_crash() -> None:
    # "¹" and "٣" pass str.isdigit(); the first one int() refuses outright.
    for expiry in ("¹¹¹", "١٨٠٠٠٠٠٠٦٠", "１８００"):
        token = make_qr_token(KEY, "A-0101", 0).replace(".0.", f".{expiry}.")
        assert verifier_reads(token) == (None, "qr_unknown")


def verifier_reads(text: str) -> tuple[str | None, str]:
    return QrTokenVerifier(KEY).verify(text, NOW)


@given(
    st.one_of(
        st.text(max_size=80),
        st.builds(
            lambda unit, exp, mac: f"{PREFIX}.{unit}.{exp}.{mac}",
            st.text(max_size=12),
            st.text(max_size=12),
            st.text(max_size=24),
        ),
    )
)
def test_any_scanned_text_is_a_token_or_a_refusal(text: str) -> None:
    unit, reason = verifier_reads(text)
    assert (unit is None) == bool(reason)
    assert unit is None  # nothing here was signed with the key
