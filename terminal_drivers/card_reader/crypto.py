"""AES primitives of the estate card application, pure (bytes in, bytes out).

- ``cmac``: AES-CMAC (NIST SP 800-38B, RFC 4493), used for response MACs.
- ``diversify_key``: the per-card key from the estate master key, as NXP AN10922
  section 2.2 does for AES-128: ``CMAC(master, 0x01 || M)`` where M is the
  diversification input (UID || AID || system identifier), always padded to two
  blocks. A reader holding the master key can compute any card's key; a card
  holds only its own, so cracking one card never yields another card's key.
- ``ReaderAuthentication`` / ``CardAuthentication``: the two halves of the DESFire
  EV1 AuthenticateAES mutual authentication (RndA, RndB, rotation by one byte,
  CBC with the IV chained from the previous ciphertext), and the session key.

Nothing here does I/O; randomness is injected so tests can replay published
traces byte for byte.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from terminal_drivers.card_reader.errors import CardNotGenuine, CardProtocolError

BLOCK = 16
KEY_SIZE = 16
# NIST SP 800-38B section 5.3: R_128 = 0^120 || 10000111.
_RB = 0x87
# AN10922 section 2.2: the diversification constant for an AES-128 key.
DIV_CONSTANT_AES128 = 0x01
# AN10922: the diversification input M is at most 31 bytes (two blocks less the constant).
MAX_DIVERSIFICATION_INPUT = 2 * BLOCK - 1

RandomSource = Callable[[int], bytes]


def _check_key(key: bytes) -> None:
    if len(key) != KEY_SIZE:
        raise ValueError(f"an AES-128 key is {KEY_SIZE} bytes, not {len(key)}")


def aes_ecb_encrypt_block(key: bytes, block: bytes) -> bytes:
    _check_key(key)
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def aes_cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    _check_key(key)
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def aes_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    _check_key(key)
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return dec.update(data) + dec.finalize()


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _shift_left_one(block: bytes) -> bytes:
    value = (int.from_bytes(block, "big") << 1) & ((1 << (8 * BLOCK)) - 1)
    return value.to_bytes(BLOCK, "big")


def cmac_subkeys(key: bytes) -> tuple[bytes, bytes]:
    """K1 and K2 of SP 800-38B section 6.1 (RFC 4493 section 2.3)."""
    lblock = aes_ecb_encrypt_block(key, bytes(BLOCK))
    k1 = _shift_left_one(lblock)
    if lblock[0] & 0x80:
        k1 = k1[:-1] + bytes([k1[-1] ^ _RB])
    k2 = _shift_left_one(k1)
    if k1[0] & 0x80:
        k2 = k2[:-1] + bytes([k2[-1] ^ _RB])
    return k1, k2


def _cmac_padded(key: bytes, message: bytes, min_blocks: int) -> bytes:
    """CMAC, padding (80 00 ..) up to at least ``min_blocks`` blocks.

    ``min_blocks=1`` is plain CMAC; AN10922 uses 2 so that every input is two
    blocks long, which differs from CMAC for inputs of 16 bytes or fewer.
    """
    k1, k2 = cmac_subkeys(key)
    nblocks = max(min_blocks, -(-len(message) // BLOCK))
    if len(message) == nblocks * BLOCK and message:
        last_key = k1
        padded = message
    else:
        last_key = k2
        padded = message + b"\x80" + bytes(nblocks * BLOCK - len(message) - 1)
    body, last = padded[:-BLOCK], _xor(padded[-BLOCK:], last_key)
    iv = aes_cbc_encrypt(key, bytes(BLOCK), body)[-BLOCK:] if body else bytes(BLOCK)
    return aes_ecb_encrypt_block(key, _xor(iv, last))


def cmac(key: bytes, message: bytes) -> bytes:
    """AES-CMAC of ``message`` (RFC 4493), the full 16 bytes."""
    return _cmac_padded(key, message, 1)


def diversify_key(master_key: bytes, diversification_input: bytes) -> bytes:
    """The AN10922 AES-128 diversified key for one card."""
    if not 1 <= len(diversification_input) <= MAX_DIVERSIFICATION_INPUT:
        raise ValueError(
            f"AN10922 diversification input is 1 to {MAX_DIVERSIFICATION_INPUT} bytes, "
            f"not {len(diversification_input)}"
        )
    return _cmac_padded(master_key, bytes([DIV_CONSTANT_AES128]) + diversification_input, 2)


def rotate_left(block: bytes) -> bytes:
    """DESFire's RndA' / RndB': the 16 bytes rotated left by one byte."""
    return block[1:] + block[:1]


def session_key(rnd_a: bytes, rnd_b: bytes) -> bytes:
    """DESFire EV1 AES session key: RndA[0:4] || RndB[0:4] || RndA[12:16] || RndB[12:16]."""
    return rnd_a[0:4] + rnd_b[0:4] + rnd_a[12:16] + rnd_b[12:16]


@dataclass
class ReaderAuthentication:
    """The reader's half of AuthenticateAES, one instance per attempt.

    ``first`` takes the card's E(K, RndB) and returns E(K, RndA || RndB'), the
    data of the additional frame; ``finish`` takes E(K, RndA') and returns the
    session key, or raises ``CardNotGenuine`` when the card did not prove it
    holds K.
    """

    key: bytes
    random: RandomSource = os.urandom
    _rnd_a: bytes = b""
    _rnd_b: bytes = b""
    _iv: bytes = b""

    def first(self, enc_rnd_b: bytes) -> bytes:
        if len(enc_rnd_b) != BLOCK:
            raise CardProtocolError(
                f"AuthenticateAES: E(RndB) must be {BLOCK} bytes, got {len(enc_rnd_b)}"
            )
        # DESFire EV1: the IV is zero for the first message, then each CBC
        # operation starts from the last ciphertext block exchanged.
        self._rnd_b = aes_cbc_decrypt(self.key, bytes(BLOCK), enc_rnd_b)
        self._rnd_a = self.random(BLOCK)
        if len(self._rnd_a) != BLOCK:
            raise ValueError("the random source must return 16 bytes")
        out = aes_cbc_encrypt(self.key, enc_rnd_b, self._rnd_a + rotate_left(self._rnd_b))
        self._iv = out[-BLOCK:]
        return out

    def finish(self, enc_rnd_a_rot: bytes) -> bytes:
        if not self._rnd_a:
            raise CardProtocolError("AuthenticateAES: the second reply came before the first")
        if len(enc_rnd_a_rot) != BLOCK:
            raise CardProtocolError(
                f"AuthenticateAES: E(RndA') must be {BLOCK} bytes, got {len(enc_rnd_a_rot)}"
            )
        rnd_a_rot = aes_cbc_decrypt(self.key, self._iv, enc_rnd_a_rot)
        if not hmac.compare_digest(rnd_a_rot, rotate_left(self._rnd_a)):
            raise CardNotGenuine("the card does not hold this card's key (RndA' mismatch)")
        return session_key(self._rnd_a, self._rnd_b)


@dataclass
class CardAuthentication:
    """The card's half of AuthenticateAES (used by the virtual card)."""

    key: bytes
    random: RandomSource = os.urandom
    _rnd_b: bytes = b""
    _iv: bytes = b""

    def challenge(self) -> bytes:
        self._rnd_b = self.random(BLOCK)
        out = aes_cbc_encrypt(self.key, bytes(BLOCK), self._rnd_b)
        self._iv = out
        return out

    def answer(self, token: bytes) -> tuple[bytes, bytes] | None:
        """E(K, RndA') and the session key, or None when the reader failed (91 AE)."""
        if not self._rnd_b or len(token) != 2 * BLOCK:
            return None
        plain = aes_cbc_decrypt(self.key, self._iv, token)
        rnd_a, rnd_b_rot = plain[:BLOCK], plain[BLOCK:]
        if not hmac.compare_digest(rnd_b_rot, rotate_left(self._rnd_b)):
            return None
        out = aes_cbc_encrypt(self.key, token[-BLOCK:], rotate_left(rnd_a))
        return out, session_key(rnd_a, self._rnd_b)


# The response MAC is CMAC truncated to 8 bytes, as DESFire EV1 sends it
# ("MACed" communication mode); 64 bits is what EV1 relies on too.
MAC_SIZE = 8


def response_mac(session: bytes, command_header: bytes, data: bytes, status: int) -> bytes:
    """The MAC the card appends to an authenticated response.

    EV1 chains the CMAC IV from the command to the response; with one read per
    session we bind the command (INS and parameters) into the MAC input
    instead, which ties the response to this command in this session just the same.
    """
    return cmac(session, command_header + data + bytes([status]))[:MAC_SIZE]


def verify_response_mac(
    session: bytes, command_header: bytes, data: bytes, status: int, mac: bytes
) -> None:
    expected = response_mac(session, command_header, data, status)
    if not hmac.compare_digest(expected, mac):
        raise CardNotGenuine("the card's data failed its MAC: not the card that authenticated")
