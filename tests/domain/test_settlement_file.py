"""The provider's settlement file: round trip, tampering, and garbage refused cleanly."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import settlement_file as sf
from domain.provider_signature import sign

SECRET = b"settlement test secret"


def _signed(body: bytes, timestamp: int = 1764036000, nonce: str = "n0nce") -> bytes:
    """``body`` signed as the provider signs a file, whatever the body holds."""
    if not body.endswith(b"\n"):
        body += b"\n"
    return (
        body + f"#signature,{timestamp},{nonce},{sign(SECRET, body, timestamp, nonce)}\n".encode()
    )


@st.composite
def settled_lines(draw: st.DrawFn) -> list[sf.Line]:
    count = draw(st.integers(min_value=0, max_value=12))
    lines: list[sf.Line] = []
    for i in range(count):
        refund = draw(st.booleans())
        gross = draw(st.integers(min_value=1, max_value=10**9))
        fee = draw(st.integers(min_value=0, max_value=gross))
        sign_ = -1 if refund else 1
        lines.append(
            sf.Line(
                number=5 + i,
                type="refund" if refund else "payment",
                time="2026-11-25T10:02:11+08:00",
                order_id=f"kiosk-01-{i:04x}",
                refund_id=f"rf-{i}" if refund else "",
                provider_ref=f"sbx-{i}" if not refund else "",
                gross=sign_ * gross,
                fee=sign_ * fee,
                net=sign_ * (gross - fee),
            )
        )
    return lines


def _render(lines: list[sf.Line], *, timestamp: int = 1764036000, nonce: str = "abc") -> bytes:
    return sf.render(
        settlement_id="stl-harbour-20261125",
        merchant="harbour",
        day=date(2026, 11, 25),
        timezone="Asia/Shanghai",
        currency="CNY",
        lines=lines,
        secret=SECRET,
        timestamp=timestamp,
        nonce=nonce,
    )


@given(settled_lines())
def test_a_rendered_file_parses_back_to_its_lines_and_sums(lines: list[sf.Line]) -> None:
    parsed = sf.parse(_render(lines), SECRET)
    assert parsed.lines == tuple(lines)
    assert parsed.gross == sum(ln.gross for ln in lines)
    assert parsed.net == parsed.gross - parsed.fee
    assert parsed.day == date(2026, 11, 25)


@given(settled_lines(), st.integers(min_value=0, max_value=2**40), st.text("0123456789abcdef"))
def test_the_same_file_fetched_again_keeps_its_digest(
    lines: list[sf.Line], timestamp: int, nonce: str
) -> None:
    # Each fetch signs with a fresh timestamp and nonce; the content is the same file.
    first = sf.parse(_render(lines), SECRET)
    again = sf.parse(_render(lines, timestamp=timestamp, nonce=nonce or "x"), SECRET)
    assert again.digest == first.digest


@settings(max_examples=300)
@given(st.binary(max_size=600))
def test_garbage_signed_with_the_right_secret_is_refused_with_a_settlement_error(
    garbage: bytes,
) -> None:
    # Past the signature check, anything at all: only SettlementFileError comes out.
    with pytest.raises(sf.SettlementFileError):
        sf.parse(_signed(garbage), SECRET)


@settings(max_examples=300)
@given(settled_lines(), st.data())
def test_a_file_altered_after_signing_is_refused(lines: list[sf.Line], data: st.DataObject) -> None:
    raw = bytearray(_render(lines))
    body_end = raw.rindex(b"#signature")
    at = data.draw(st.integers(min_value=0, max_value=body_end - 1))
    replacement = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != raw[at]))
    raw[at] = replacement
    with pytest.raises(sf.SettlementFileError):
        sf.parse(bytes(raw), SECRET)


@given(st.binary(max_size=400))
def test_unsigned_garbage_is_refused(garbage: bytes) -> None:
    with pytest.raises(sf.SettlementFileError):
        sf.parse(garbage, SECRET)


def test_a_line_whose_net_is_not_gross_less_fee_is_named() -> None:
    body = _render([]).decode().split("#signature")[0]
    rows = body.splitlines()
    rows.insert(4, "payment,2026-11-25T10:00:00+08:00,kiosk-01-1,,sbx-1,5000,30,4000")
    rows[-1] = "total,,,,,5000,30,4000"
    with pytest.raises(sf.SettlementFileError, match="line 5: net 4000 is not gross 5000"):
        sf.parse(_signed("\n".join(rows).encode()), SECRET)


def test_a_file_signed_with_another_secret_is_refused() -> None:
    raw = _render([])
    with pytest.raises(sf.SettlementFileError, match="signature does not match"):
        sf.parse(raw, b"another secret")


def test_a_signature_time_in_other_digits_is_refused() -> None:
    # "²" is a digit to str.isdigit but not to int(): refused, not a crash.
    with pytest.raises(sf.SettlementFileError, match="signature line"):
        sf.parse(b"#prepaid-settlement,v1\n#signature,\xc2\xb2,n,00\n", SECRET)
