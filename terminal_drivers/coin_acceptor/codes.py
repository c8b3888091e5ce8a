"""ccTalk headers and coin acceptor error codes (ccTalk generic specification, parts 2 and 3)."""

from __future__ import annotations

from enum import IntEnum


class Header(IntEnum):
    REPLY = 0
    RESET_DEVICE = 1
    NAK = 5
    BUSY = 6
    REQUEST_COIN_ID = 184
    MODIFY_MASTER_INHIBIT = 228
    REQUEST_MASTER_INHIBIT = 227
    READ_BUFFERED_CREDIT = 229
    REQUEST_INHIBIT_STATUS = 230
    MODIFY_INHIBIT_STATUS = 231
    REQUEST_SOFTWARE_REVISION = 241
    REQUEST_SERIAL_NUMBER = 242
    REQUEST_PRODUCT_CODE = 244
    REQUEST_EQUIPMENT_CATEGORY = 245
    REQUEST_MANUFACTURER_ID = 246
    ADDRESS_POLL = 253
    SIMPLE_POLL = 254


# Table 3, "Coin acceptor error codes": result A = 0, result B = the code.
ERROR_CODES: dict[int, str] = {
    0: "null event",
    1: "reject coin",
    2: "inhibited coin",
    3: "multiple window",
    4: "wake-up timeout",
    5: "validation timeout",
    6: "credit sensor timeout",
    7: "sorter opto timeout",
    8: "2nd close coin error",
    9: "accept gate not ready",
    10: "credit sensor not ready",
    11: "sorter not ready",
    12: "reject coin not cleared",
    13: "validation sensor not ready",
    14: "credit sensor blocked",
    15: "sorter opto blocked",
    16: "credit sequence error",
    17: "coin going backwards",
    18: "coin too fast (over credit sensor)",
    19: "coin too slow (over credit sensor)",
    20: "C.O.S. mechanism activated (coin-on-string)",
    21: "DCE opto timeout",
    22: "DCE opto not seen",
    23: "credit sensor reached too early",
    24: "reject coin (repeated sequential trip)",
    25: "reject slug",
    26: "reject sensor blocked",
    27: "games overload",
    28: "max. coin meter pulses exceeded",
    29: "accept gate open not closed",
    30: "accept gate closed not open",
    31: "manifold opto timeout",
    32: "manifold opto blocked",
    33: "manifold not ready",
    34: "security status changed",
    35: "motor exception",
    36: "swallowed coin",
    37: "coin too fast (over validation sensor)",
    38: "coin too slow (over validation sensor)",
    39: "coin incorrectly sorted",
    40: "external light attack",
    254: "coin return mechanism activated (flight deck open)",
    255: "unspecified alarm code",
}

# Codes that mean the mechanism needs a person (blocked sensors, gates, fraud
# attempts); the others are a coin given back to the customer.
FAULT_CODES: frozenset[int] = frozenset(
    {9, 10, 11, 12, 13, 14, 15, 17, 20, 26, 29, 30, 32, 33, 35, 36, 40, 254, 255}
)
