"""The signed-request wire format: exact bytes, parsing, codes and QR payloads."""

from __future__ import annotations

import pytest

from domain import signing


def test_the_signature_base_is_exact() -> None:
    params = signing.SignatureParams(signing.COMPONENTS, 1700000000, "abc", "n1")
    headers = {"content-digest": signing.content_digest(b""), "terminal-id": "kiosk-001"}
    base = signing.signature_base(
        method="post", path="/v1/ledger/top-ups", headers=headers, params=params
    )
    assert base.decode() == (
        '"@method": POST\n'
        '"@path": /v1/ledger/top-ups\n'
        '"content-digest": sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:\n'
        '"terminal-id": kiosk-001\n'
        '"@signature-params": ("@method" "@path" "content-digest" "terminal-id");'
        'created=1700000000;keyid="abc";nonce="n1";alg="ed25519"'
    )


def test_headers_round_trip() -> None:
    params = signing.SignatureParams(signing.COMPONENTS, 1700000000, "key-1", "nonce-1")
    assert signing.parse_signature_input(signing.signature_input_header(params)) == params
    assert signing.parse_signature(signing.signature_header(b"\x01\x02")) == b"\x01\x02"
    assert signing.digest_matches(signing.content_digest(b"{}"), b"{}")
    assert not signing.digest_matches(signing.content_digest(b"{}"), b"{ }")


@pytest.mark.parametrize(
    "value",
    [
        "",
        'sig2=("@method");created=1;keyid="k";nonce="n"',
        'sig1=("@method");keyid="k";nonce="n"',
        'sig1=("@method");created=x;keyid="k";nonce="n"',
        "sig1=garbage",
    ],
)
def test_unreadable_signature_input_is_refused(value: str) -> None:
    with pytest.raises(signing.SignatureFormatError):
        signing.parse_signature_input(value)


def test_a_header_with_a_line_break_cannot_be_signed() -> None:
    params = signing.SignatureParams(("terminal-id",), 1, "k", "n")
    with pytest.raises(signing.SignatureFormatError):
        signing.signature_base(
            method="GET", path="/", headers={"terminal-id": "a\nb"}, params=params
        )


def test_codes_and_qr_payloads() -> None:
    assert signing.normalize_code("7kq2-m9xd oiLu") == "7KQ2M9XD011V"
    assert signing.format_code("7kq2m9xd") == "7KQ2-M9XD"
    payload = signing.qr_payload("7kq2m9xd", "http://10.0.0.2:8470")
    assert payload == "prepaid-enrol:7KQ2-M9XD?server=http://10.0.0.2:8470"
    assert signing.parse_qr_payload(payload) == ("7KQ2M9XD", "http://10.0.0.2:8470")
    assert signing.parse_qr_payload("7kq2-m9xd") == ("7KQ2M9XD", None)
