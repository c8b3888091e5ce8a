"""The card's side of the estate application, as the virtual card runs it.

``Applet.process`` takes one command APDU and returns the response APDU, as a
DESFire EV1 card with the estate application would (plus the reader's own
answer to the PC/SC GET UID pseudo-APDU, because with vpcd the "reader" is the
virtual card too). Pure: no I/O, randomness injected.

A ``CardProfile`` says what is on the card: a genuine card carries its
diversified key; a clone carries the same UID and card number but not the key
(it was copied, the key could not be); a UID-only card has no application.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field

from terminal_drivers.card_reader import apdu, crypto
from terminal_drivers.card_reader.errors import CardProtocolError
from terminal_drivers.card_reader.estate_app import card_key
from terminal_drivers.card_reader.status_words import (
    SW_DESFIRE_MORE,
    SW_DESFIRE_OK,
    SW_FILE_NOT_FOUND,
    SW_OK,
)

# PC/SC part 3 section 3.1.3.2.3: the ATR a reader builds for a contactless
# card. ISO 14443-4 (DESFire): 3B 81 80 01 80 80 (historical byte 80, TCK).
ATR_ISO14443_4 = bytes.fromhex("3B8180018080")
# A storage card (MIFARE Classic 1K): RID A0 00 00 03 06, standard 03, card name 00 01.
ATR_MIFARE_CLASSIC_1K = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")

_SW_WRONG_LENGTH = 0x6700
_SW_INS_NOT_SUPPORTED = 0x6D00
_SW_CLA_NOT_SUPPORTED = 0x6E00
_SW_DESFIRE_ILLEGAL_COMMAND = 0x911C
_SW_DESFIRE_LENGTH = 0x917E
_SW_DESFIRE_AUTH_ERROR = 0x91AE
_SW_DESFIRE_PERMISSION_DENIED = 0x919D
_SW_DESFIRE_BOUNDARY = 0x91BE
_SW_DESFIRE_FILE_NOT_FOUND = 0x91F0
_SW_DESFIRE_NO_SUCH_KEY = 0x9140
_SW_FUNCTION_NOT_SUPPORTED = 0x6A81


class CardKind(enum.Enum):
    GENUINE = "genuine"
    CLONE = "clone"
    UID_ONLY = "uid_only"


@dataclass(frozen=True)
class CardProfile:
    kind: CardKind
    uid: bytes
    card_number: str | None = None
    key: bytes | None = field(default=None, repr=False)

    @classmethod
    def genuine(
        cls, *, uid: bytes, card_number: str, master_key: bytes, system_id: bytes
    ) -> CardProfile:
        """A card personalised by the estate: its key diversified from the master key."""
        key = card_key(master_key, uid, system_id)
        return cls(CardKind.GENUINE, uid, card_number, key)

    def clone(self) -> CardProfile:
        """A copy of this card: same UID (a "magic" card) and same file, a key it guessed."""
        return CardProfile(CardKind.CLONE, self.uid, self.card_number, os.urandom(crypto.KEY_SIZE))

    @classmethod
    def uid_only(cls, *, uid: bytes) -> CardProfile:
        return cls(CardKind.UID_ONLY, uid)

    @property
    def atr(self) -> bytes:
        if self.kind is CardKind.UID_ONLY:
            return ATR_MIFARE_CLASSIC_1K
        return ATR_ISO14443_4


class Applet:
    """One power-up of a card: state resets with each new instance."""

    def __init__(self, profile: CardProfile, random: crypto.RandomSource = os.urandom) -> None:
        self.profile = profile
        self._random = random
        self._selected = False
        self._auth: crypto.CardAuthentication | None = None
        self._session: bytes | None = None

    def process(self, raw: bytes) -> bytes:
        try:
            command = apdu.parse_command(raw)
        except CardProtocolError:
            return apdu.Response(b"", _SW_WRONG_LENGTH).encode()
        return self._dispatch(command).encode()

    def _dispatch(self, command: apdu.Command) -> apdu.Response:
        if command.cla == apdu.CLA_PCSC and command.ins == apdu.INS_GET_DATA:
            return self._get_data(command)
        if command.cla == apdu.CLA_ISO and command.ins == apdu.INS_SELECT:
            return self._select(command)
        if self.profile.kind is CardKind.UID_ONLY:
            return apdu.Response(b"", _SW_CLA_NOT_SUPPORTED)
        if command.cla != apdu.CLA_DESFIRE:
            return apdu.Response(b"", _SW_CLA_NOT_SUPPORTED)
        if command.ins == apdu.INS_AUTHENTICATE_AES:
            return self._authenticate(command)
        if command.ins == apdu.INS_ADDITIONAL_FRAME:
            return self._additional_frame(command)
        if command.ins == apdu.INS_READ_DATA:
            return self._read_data(command)
        return apdu.Response(b"", _SW_DESFIRE_ILLEGAL_COMMAND)

    def _get_data(self, command: apdu.Command) -> apdu.Response:
        # PC/SC part 3: P1 00 = UID, P1 01 = historical bytes (not emulated).
        if command.p1 != 0x00 or command.p2 != 0x00:
            return apdu.Response(b"", _SW_FUNCTION_NOT_SUPPORTED)
        return apdu.Response(self.profile.uid, SW_OK)

    def _select(self, command: apdu.Command) -> apdu.Response:
        self._auth = None
        self._session = None
        if (
            self.profile.kind is CardKind.UID_ONLY
            or command.p1 != apdu.P1_SELECT_BY_NAME
            or command.data != apdu.ESTATE_AID
        ):
            self._selected = False
            return apdu.Response(b"", SW_FILE_NOT_FOUND)
        self._selected = True
        return apdu.Response(b"", SW_OK)

    def _authenticate(self, command: apdu.Command) -> apdu.Response:
        self._session = None
        if not self._selected or self.profile.key is None:
            return apdu.Response(b"", _SW_DESFIRE_PERMISSION_DENIED)
        if command.data != bytes([apdu.CARD_KEY_NUMBER]):
            wrong = _SW_DESFIRE_LENGTH if len(command.data) != 1 else _SW_DESFIRE_NO_SUCH_KEY
            return apdu.Response(b"", wrong)
        self._auth = crypto.CardAuthentication(self.profile.key, self._random)
        return apdu.Response(self._auth.challenge(), SW_DESFIRE_MORE)

    def _additional_frame(self, command: apdu.Command) -> apdu.Response:
        auth, self._auth = self._auth, None
        if auth is None:
            return apdu.Response(b"", _SW_DESFIRE_ILLEGAL_COMMAND)
        answer = auth.answer(command.data)
        if answer is None:
            return apdu.Response(b"", _SW_DESFIRE_AUTH_ERROR)
        token, self._session = answer
        return apdu.Response(token, SW_DESFIRE_OK)

    def _read_data(self, command: apdu.Command) -> apdu.Response:
        if self._session is None:
            return apdu.Response(b"", _SW_DESFIRE_PERMISSION_DENIED)
        if len(command.data) != 7:
            return apdu.Response(b"", _SW_DESFIRE_LENGTH)
        if command.data[0] != apdu.CARD_NUMBER_FILE or self.profile.card_number is None:
            return apdu.Response(b"", _SW_DESFIRE_FILE_NOT_FOUND)
        offset = int.from_bytes(command.data[1:4], "little")
        length = int.from_bytes(command.data[4:7], "little")
        content = apdu.encode_card_number(self.profile.card_number)
        if offset + length > len(content):
            return apdu.Response(b"", _SW_DESFIRE_BOUNDARY)
        # DESFire: length 0 reads to the end of the file.
        data = content[offset : offset + length] if length else content[offset:]
        mac = crypto.response_mac(self._session, apdu.mac_header(command), data, 0x00)
        return apdu.Response(data + mac, SW_DESFIRE_OK)
