"""The reader's side of the estate card application: is this card genuine, and whose?

Flow of ``EstateCardApp.read`` (APDUs in ``apdu``'s docstring):

1. GET UID ``FF CA 00 00 00``: the anti-collision UID (4, 7 or 10 bytes).
2. SELECT ``00 A4 04 00 08 F0 50 52 45 50 41 49 44 00``. ``6A 82`` means the card
   has no estate application (125 kHz tag, MIFARE Classic, a blank card): the
   result is a low-assurance reading of the UID alone, which the caller may
   accept only where the estate allows it, with capped spending.
3. AuthenticateAES ``90 AA 00 00 01 00 00``: the card sends E(K, RndB); the
   reader answers ``90 AF 00 00 20`` E(K, RndA || RndB') and the card proves it
   decrypted RndA by sending E(K, RndA'). K is the card's own key, diversified
   from the estate master key, the UID, the AID and the estate's system
   identifier (NXP AN10922). A copied UID with copied data but without K fails
   here (``91 AE``, or a wrong RndA').
4. ReadData ``90 BD 00 00 07 01 000000 100000 00``: the card number, followed by
   an 8-byte CMAC under the session key derived from RndA and RndB, so the
   number provably comes from the card that just authenticated (not from a
   relay that swapped the data).

Only after step 4 is a ``CardReading`` returned; any failure raises, so a caller
never sees a half result. Removal at any step surfaces as ``CardRemoved`` from
the channel.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from typing import Protocol

from terminal_drivers.card_reader import apdu, crypto
from terminal_drivers.card_reader.errors import CardProtocolError
from terminal_drivers.card_reader.status_words import (
    SW_DESFIRE_MORE,
    SW_DESFIRE_OK,
    SW_FILE_NOT_FOUND,
    SW_OK,
    error_for,
)

# ISO/IEC 14443-3: single, double and triple size UIDs.
UID_SIZES = (4, 7, 10)
# What is left of AN10922's 31-byte input after the longest UID and the AID.
MAX_SYSTEM_ID = crypto.MAX_DIVERSIFICATION_INPUT - max(UID_SIZES) - len(apdu.ESTATE_AID)


class CardChannel(Protocol):
    """A connected card: one command APDU in, its response APDU out."""

    def transmit(self, command: bytes) -> bytes: ...


class Assurance(enum.Enum):
    # The card proved it holds its diversified key; the number is trustworthy.
    HIGH = "high"
    # Only a UID was read: trivially copied; the estate decides if it is accepted.
    LOW = "low"


@dataclass(frozen=True)
class CardReading:
    uid: bytes
    assurance: Assurance
    card_number: str | None  # set exactly when assurance is HIGH

    @property
    def uid_hex(self) -> str:
        return self.uid.hex().upper()


def diversification_input(uid: bytes, system_id: bytes) -> bytes:
    """AN10922 M for the estate application key: UID || AID || system identifier."""
    return uid + apdu.ESTATE_AID + system_id


def card_key(master_key: bytes, uid: bytes, system_id: bytes) -> bytes:
    """The key personalised into the card with this UID (and derived by readers)."""
    return crypto.diversify_key(master_key, diversification_input(uid, system_id))


def _check(response: apdu.Response, expected: int, context: str) -> bytes:
    if response.sw != expected:
        raise error_for(response.sw, context)
    return response.data


def read_uid(channel: CardChannel) -> bytes:
    """The UID alone (PC/SC GET DATA): what a UID-only terminal needs, no keys involved."""
    response = apdu.parse_response(channel.transmit(apdu.get_uid().encode()))
    uid = _check(response, SW_OK, "GET UID")
    if len(uid) not in UID_SIZES:
        raise CardProtocolError(f"GET UID: a UID is 4, 7 or 10 bytes, got {uid.hex()}")
    return uid


class EstateCardApp:
    """Reads and authenticates estate cards for one estate (one master key)."""

    def __init__(
        self,
        *,
        master_key: bytes,
        system_id: bytes,
        random: crypto.RandomSource = os.urandom,
    ) -> None:
        if len(master_key) != crypto.KEY_SIZE:
            raise ValueError("the estate master key is an AES-128 key (16 bytes)")
        if not 1 <= len(system_id) <= MAX_SYSTEM_ID:
            raise ValueError(f"the system identifier is 1 to {MAX_SYSTEM_ID} bytes")
        self._master_key = master_key
        self._system_id = system_id
        self._random = random

    def _exchange(self, channel: CardChannel, command: apdu.Command) -> apdu.Response:
        return apdu.parse_response(channel.transmit(command.encode()))

    def read(self, channel: CardChannel) -> CardReading:
        uid = read_uid(channel)
        selected = self._exchange(channel, apdu.select_application())
        if selected.sw == SW_FILE_NOT_FOUND:
            return CardReading(uid=uid, assurance=Assurance.LOW, card_number=None)
        _check(selected, SW_OK, "SELECT estate application")

        auth = crypto.ReaderAuthentication(
            card_key(self._master_key, uid, self._system_id), self._random
        )
        enc_rnd_b = _check(
            self._exchange(channel, apdu.authenticate_aes()), SW_DESFIRE_MORE, "AuthenticateAES"
        )
        token = auth.first(enc_rnd_b)
        enc_rnd_a = _check(
            self._exchange(channel, apdu.additional_frame(token)),
            SW_DESFIRE_OK,
            "AuthenticateAES (second frame)",
        )
        session = auth.finish(enc_rnd_a)

        command = apdu.read_data(apdu.CARD_NUMBER_FILE, 0, apdu.CARD_NUMBER_SIZE)
        body = _check(self._exchange(channel, command), SW_DESFIRE_OK, "ReadData card number")
        if len(body) != apdu.CARD_NUMBER_SIZE + crypto.MAC_SIZE:
            raise CardProtocolError(
                f"ReadData: expected {apdu.CARD_NUMBER_SIZE} bytes and a MAC, got {len(body)}"
            )
        data, mac = body[: -crypto.MAC_SIZE], body[-crypto.MAC_SIZE :]
        crypto.verify_response_mac(session, apdu.mac_header(command), data, 0x00, mac)
        return CardReading(
            uid=uid, assurance=Assurance.HIGH, card_number=apdu.decode_card_number(data)
        )
