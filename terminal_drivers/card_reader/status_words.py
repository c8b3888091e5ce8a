"""Status words (SW1 SW2) to typed errors, by table.

Sources: ISO/IEC 7816-4 section 5.1.3 (interindustry SW1-SW2), PC/SC part 3
section 3.2.2.1.3 (GET DATA pseudo-APDU: 6281, 6282, 6A81 ...) and the DESFire
ISO wrapping, where SW1 = 0x91 and SW2 is the native status byte (MF3ICD81 data
sheet, "status and error codes"). A status that is not in the table is a
protocol error naming the two bytes.
"""

from __future__ import annotations

from terminal_drivers.card_reader.errors import (
    CardNotGenuine,
    CardNotSupported,
    CardProtocolError,
    CardRemoved,
)
from terminal_drivers.errors import DriverError

SW_OK = 0x9000
# DESFire native OPERATION_OK (91 00) and ADDITIONAL_FRAME (91 AF).
SW_DESFIRE_OK = 0x9100
SW_DESFIRE_MORE = 0x91AF
# ISO 7816-4: file or application not found. For SELECT by AID it means the
# card has no estate application: a UID-only card.
SW_FILE_NOT_FOUND = 0x6A82

# SW -> (error class, meaning). Kept as data so a technician reading a log line
# ("6982") finds the meaning here.
STATUS_WORDS: dict[int, tuple[type[DriverError], str]] = {
    0x6281: (CardProtocolError, "part of the returned data may be corrupted"),
    0x6282: (CardProtocolError, "end of data reached before Le bytes"),
    0x6300: (CardProtocolError, "the operation failed (no information given)"),
    0x6581: (CardProtocolError, "memory failure"),
    0x6700: (CardProtocolError, "wrong length"),
    0x6882: (CardProtocolError, "secure messaging not supported"),
    0x6982: (CardNotGenuine, "security status not satisfied"),
    0x6983: (CardNotGenuine, "authentication method blocked"),
    0x6985: (CardProtocolError, "conditions of use not satisfied"),
    0x6A81: (CardNotSupported, "function not supported"),
    0x6A82: (CardNotSupported, "application or file not found"),
    0x6A86: (CardProtocolError, "incorrect P1 P2"),
    0x6B00: (CardProtocolError, "wrong parameters P1 P2"),
    0x6D00: (CardNotSupported, "instruction not supported"),
    0x6E00: (CardNotSupported, "class not supported"),
    0x6F00: (CardProtocolError, "no precise diagnosis"),
    # DESFire native statuses, wrapped as 91 xx.
    0x910C: (CardProtocolError, "DESFire: no changes"),
    0x911C: (CardProtocolError, "DESFire: illegal command code"),
    0x911E: (CardProtocolError, "DESFire: integrity error (CRC or MAC)"),
    0x9140: (CardProtocolError, "DESFire: no such key"),
    0x917E: (CardProtocolError, "DESFire: length error"),
    0x919D: (CardNotGenuine, "DESFire: permission denied"),
    0x919E: (CardProtocolError, "DESFire: parameter error"),
    0x91A0: (CardNotSupported, "DESFire: application not found"),
    0x91AE: (CardNotGenuine, "DESFire: authentication error"),
    0x91BE: (CardProtocolError, "DESFire: boundary error"),
    # Command aborted: the previous command did not complete, typically the
    # card left and re-entered the field between frames.
    0x91CA: (CardRemoved, "DESFire: command aborted"),
    0x91F0: (CardProtocolError, "DESFire: file not found"),
}


def error_for(sw: int, context: str) -> DriverError:
    """The typed error for an unexpected status word (never raises itself)."""
    cls, meaning = STATUS_WORDS.get(sw, (CardProtocolError, "unknown status"))
    return cls(f"{context}: card answered {sw:04X} ({meaning})")
