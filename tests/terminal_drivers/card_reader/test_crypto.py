"""AES-CMAC, AN10922 key diversification and the AuthenticateAES halves, on published vectors."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.cmac import CMAC
from hypothesis import given
from hypothesis import strategies as st

from terminal_drivers.card_reader import crypto
from terminal_drivers.card_reader.errors import CardNotGenuine, CardProtocolError

# RFC 4493 section 4 (the NIST SP 800-38B AES-128 examples).
RFC4493_KEY = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
RFC4493_MESSAGE = bytes.fromhex(
    "6bc1bee22e409f96e93d7e117393172a"
    "ae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52ef"
    "f69f2445df4f9b17ad2b417be66c3710"
)


def test_rfc4493_subkeys() -> None:
    # RFC 4493 section 4, "Subkey Generation": K1 and K2 for the example key.
    k1, k2 = crypto.cmac_subkeys(RFC4493_KEY)
    assert k1 == bytes.fromhex("fbeed618357133667c85e08f7236a8de")
    assert k2 == bytes.fromhex("f7ddac306ae266ccf90bc11ee46d513b")


@pytest.mark.parametrize(
    ("length", "mac"),
    [
        (0, "bb1d6929e95937287fa37d129b756746"),  # Example 1: empty message
        (16, "070a16b46b4d4144f79bdd9dd04a287c"),  # Example 2: one block
        (40, "dfa66747de9ae63030ca32611497c827"),  # Example 3: 2.5 blocks (padding, K2)
        (64, "51f0bebf7e3b9d92fc49741779363cfe"),  # Example 4: four blocks (K1)
    ],
)
def test_rfc4493_examples(length: int, mac: str) -> None:
    assert crypto.cmac(RFC4493_KEY, RFC4493_MESSAGE[:length]) == bytes.fromhex(mac)


@given(st.binary(min_size=16, max_size=16), st.binary(max_size=80))
def test_cmac_agrees_with_cryptography(key: bytes, message: bytes) -> None:
    reference = CMAC(algorithms.AES(key))
    reference.update(message)
    assert crypto.cmac(key, message) == reference.finalize()


# NXP AN10922 "Symmetric key diversifications", section 2.2.1, the AES-128
# example: master key, UID 04782E21801D80, AID 3042F5, system identifier
# "NXP Abu" (4E585020416275).
AN10922_MASTER = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
AN10922_M = bytes.fromhex("04782E21801D803042F54E585020416275")


def test_an10922_aes128_example() -> None:
    # Step 4 of the example: K2 of the master key (the input is padded, so K2 is used).
    assert crypto.cmac_subkeys(AN10922_MASTER)[1] == bytes.fromhex(
        "F793EEB928278083BFDC8A5A7E0E0D25"
    )
    assert crypto.diversify_key(AN10922_MASTER, AN10922_M) == bytes.fromhex(
        "A8DD63A3B89D54B37CA802473FDA9175"
    )


def test_an10922_pads_short_inputs_to_two_blocks() -> None:
    # AN10922 always feeds two blocks to CMAC; plain CMAC of a one-block input differs.
    short = b"\x04\x01\x02\x03"
    assert crypto.diversify_key(AN10922_MASTER, short) != crypto.cmac(
        AN10922_MASTER, b"\x01" + short
    )


@pytest.mark.parametrize("size", [0, 32])
def test_an10922_input_length_is_bounded(size: int) -> None:
    with pytest.raises(ValueError, match="diversification input"):
        crypto.diversify_key(AN10922_MASTER, bytes(size))


def test_ev1_authenticate_aes_wire_trace() -> None:
    # A DESFire EV1 AuthenticateAES exchange with the all-zero key and a fixed
    # RndA, as independent DESFire libraries replay it in their tests:
    #   -> 90 AA 00 00 01 00 00
    #   <- C5537C8EFFFCC7E152C27831AFD383BA 91 AF          E(K, RndB)
    #   -> 90 AF 00 00 20 1EF512D9...B1C328 00            E(K, RndA || RndB')
    #   <- FFC212245F03DB0EA0645A495190952A 91 00          E(K, RndA')
    rnd_a = bytes.fromhex("2347C1557F80707ABDFF86BF9D965CA7")
    auth = crypto.ReaderAuthentication(bytes(16), random=lambda n: rnd_a)
    token = auth.first(bytes.fromhex("C5537C8EFFFCC7E152C27831AFD383BA"))
    assert token == bytes.fromhex(
        "1EF512D957973AED7E6E13991EB0FB431B373EA23400A3AC0B7749CD6FB1C328"
    )
    session = auth.finish(bytes.fromhex("FFC212245F03DB0EA0645A495190952A"))
    rnd_b = crypto.aes_cbc_decrypt(
        bytes(16), bytes(16), bytes.fromhex("C5537C8EFFFCC7E152C27831AFD383BA")
    )
    # DESFire EV1 AES session key: RndA[0:4] RndB[0:4] RndA[12:16] RndB[12:16].
    assert session == rnd_a[:4] + rnd_b[:4] + rnd_a[12:] + rnd_b[12:]


def test_both_halves_agree_on_the_session_key() -> None:
    key = bytes(range(16))
    card = crypto.CardAuthentication(key)
    reader = crypto.ReaderAuthentication(key)
    answer = card.answer(reader.first(card.challenge()))
    assert answer is not None
    token, card_session = answer
    assert reader.finish(token) == card_session


def test_card_with_another_key_refuses_the_reader() -> None:
    card = crypto.CardAuthentication(bytes(16))
    reader = crypto.ReaderAuthentication(bytes(range(16)))
    assert card.answer(reader.first(card.challenge())) is None  # the card says 91 AE


def test_reader_refuses_a_card_that_answers_without_the_key() -> None:
    reader = crypto.ReaderAuthentication(bytes(range(16)))
    reader.first(bytes(16))
    with pytest.raises(CardNotGenuine):
        reader.finish(bytes(16))


def test_reader_rejects_malformed_frames() -> None:
    reader = crypto.ReaderAuthentication(bytes(16))
    with pytest.raises(CardProtocolError):
        reader.finish(bytes(16))  # before the first frame
    with pytest.raises(CardProtocolError):
        reader.first(bytes(15))


def test_response_mac_binds_command_and_data() -> None:
    session = bytes(range(16))
    mac = crypto.response_mac(session, b"\xbd\x01", b"1001", 0x00)
    assert len(mac) == crypto.MAC_SIZE
    crypto.verify_response_mac(session, b"\xbd\x01", b"1001", 0x00, mac)
    with pytest.raises(CardNotGenuine):
        crypto.verify_response_mac(session, b"\xbd\x01", b"1002", 0x00, mac)
    with pytest.raises(CardNotGenuine):
        crypto.verify_response_mac(session, b"\xbd\x02", b"1001", 0x00, mac)
