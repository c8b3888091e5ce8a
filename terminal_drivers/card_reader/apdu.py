"""Command and response APDUs of the estate card application, pure.

ISO/IEC 7816-4 section 5.1: a command is CLA INS P1 P2 [Lc data] [Le]; a
response is [data] SW1 SW2. Only short APDUs (Lc, Le of one byte) are used.
The commands (see ``estate_app`` for the flow):

================  ====  ====  ==  ==  ===========================  ==================
command           CLA   INS   P1  P2  data                         answer
================  ====  ====  ==  ==  ===========================  ==================
GET UID (PC/SC)   FF    CA    00  00  (Le 00)                      UID, 90 00
SELECT by AID     00    A4    04  00  AID (Le 00)                  90 00 / 6A 82
AuthenticateAES   90    AA    00  00  key number (Le 00)           E(RndB), 91 AF
Additional frame  90    AF    00  00  E(RndA || RndB') (Le 00)     E(RndA'), 91 00
ReadData          90    BD    00  00  file, offset(3), length(3)   data || MAC, 91 00
================  ====  ====  ==  ==  ===========================  ==================

GET UID is the PC/SC part 3 section 3.2.2.1.3 pseudo-APDU, answered by the
reader itself. CLA 90 is DESFire's ISO 7816 wrapping of native commands (the
native command code becomes INS; the native status comes back as 91 xx).
"""

from __future__ import annotations

from dataclasses import dataclass

from terminal_drivers.card_reader.errors import CardProtocolError

CLA_ISO = 0x00
CLA_PCSC = 0xFF
CLA_DESFIRE = 0x90

INS_GET_DATA = 0xCA
INS_SELECT = 0xA4
INS_AUTHENTICATE_AES = 0xAA
INS_ADDITIONAL_FRAME = 0xAF
INS_READ_DATA = 0xBD

# ISO 7816-4 SELECT P1 = 04: select by DF name (the application identifier).
P1_SELECT_BY_NAME = 0x04

# The estate application's AID. ISO/IEC 7816-5: an AID starting with F is a
# proprietary, unregistered one; "F0" + "PREPAID" in ASCII.
ESTATE_AID = bytes.fromhex("F0") + b"PREPAID"
# DESFire key number 0 of the application holds the card's diversified key.
CARD_KEY_NUMBER = 0x00
# Standard data file 01 holds the card number (credential id) as ASCII,
# right-padded with zero bytes.
CARD_NUMBER_FILE = 0x01
CARD_NUMBER_SIZE = 16


@dataclass(frozen=True)
class Command:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None  # None: no Le byte; 0 means "up to 256 bytes"

    def encode(self) -> bytes:
        if len(self.data) > 255:
            raise ValueError("short APDUs carry at most 255 data bytes")
        out = bytes([self.cla, self.ins, self.p1, self.p2])
        if self.data:
            out += bytes([len(self.data)]) + self.data
        if self.le is not None:
            out += bytes([self.le])
        return out

    @property
    def header(self) -> bytes:
        return bytes([self.cla, self.ins, self.p1, self.p2])


def parse_command(raw: bytes) -> Command:
    """Decode a short command APDU (ISO 7816-3 section 12.1.3 cases 1 to 4)."""
    if len(raw) < 4:
        raise CardProtocolError(f"a command APDU has at least 4 bytes, got {raw.hex()}")
    cla, ins, p1, p2 = raw[:4]
    body = raw[4:]
    if not body:  # case 1
        return Command(cla, ins, p1, p2)
    if len(body) == 1:  # case 2: Le only
        return Command(cla, ins, p1, p2, le=body[0])
    lc = body[0]
    if lc == 0:
        raise CardProtocolError("extended APDUs are not supported")
    if len(body) == 1 + lc:  # case 3
        return Command(cla, ins, p1, p2, data=body[1:])
    if len(body) == 2 + lc:  # case 4
        return Command(cla, ins, p1, p2, data=body[1 : 1 + lc], le=body[-1])
    raise CardProtocolError(f"Lc {lc} does not match the {len(body) - 1} bytes that follow")


@dataclass(frozen=True)
class Response:
    data: bytes
    sw: int

    def encode(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")


def parse_response(raw: bytes) -> Response:
    """Split a response APDU into data and status word."""
    if len(raw) < 2:
        raise CardProtocolError(f"a response APDU ends with SW1 SW2; got {raw.hex() or 'nothing'}")
    return Response(bytes(raw[:-2]), int.from_bytes(raw[-2:], "big"))


def get_uid() -> Command:
    return Command(CLA_PCSC, INS_GET_DATA, 0x00, 0x00, le=0)


def select_application(aid: bytes = ESTATE_AID) -> Command:
    return Command(CLA_ISO, INS_SELECT, P1_SELECT_BY_NAME, 0x00, data=aid, le=0)


def authenticate_aes(key_number: int = CARD_KEY_NUMBER) -> Command:
    return Command(CLA_DESFIRE, INS_AUTHENTICATE_AES, 0, 0, data=bytes([key_number]), le=0)


def additional_frame(data: bytes) -> Command:
    return Command(CLA_DESFIRE, INS_ADDITIONAL_FRAME, 0, 0, data=data, le=0)


def read_data(file_number: int, offset: int, length: int) -> Command:
    # DESFire ReadData: offset and length are 3 bytes each, least significant first.
    params = bytes([file_number]) + offset.to_bytes(3, "little") + length.to_bytes(3, "little")
    return Command(CLA_DESFIRE, INS_READ_DATA, 0, 0, data=params, le=0)


def mac_header(command: Command) -> bytes:
    """What of a command the response MAC covers: the native code and parameters."""
    return bytes([command.ins]) + command.data


def encode_card_number(number: str) -> bytes:
    raw = number.encode("ascii")
    if not raw or len(raw) > CARD_NUMBER_SIZE:
        raise ValueError(f"a card number is 1 to {CARD_NUMBER_SIZE} ASCII characters")
    return raw + bytes(CARD_NUMBER_SIZE - len(raw))


def decode_card_number(raw: bytes) -> str:
    if len(raw) != CARD_NUMBER_SIZE:
        raise CardProtocolError(f"card number file is {CARD_NUMBER_SIZE} bytes, got {len(raw)}")
    text = raw.rstrip(b"\x00")
    if not text or not all(0x21 <= b <= 0x7E for b in text):
        raise CardProtocolError(f"card number is not printable ASCII: {raw.hex()}")
    return text.decode("ascii")
