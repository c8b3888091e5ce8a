"""ID-003 code tables (JCM "ID-003 Communication Specification", status and command lists)."""

from __future__ import annotations

from enum import IntEnum


class Command(IntEnum):
    """Controller to acceptor."""

    STATUS_REQUEST = 0x11
    RESET = 0x40
    STACK_1 = 0x41
    STACK_2 = 0x42
    RETURN = 0x43
    HOLD = 0x44
    WAIT = 0x45
    ACK = 0x50
    # Setting commands: the acceptor echoes them with their data.
    SET_ENABLE = 0xC0  # 2 bytes, a bit per denomination code 0x61.., 1 = inhibited
    SET_SECURITY = 0xC1
    SET_COMMUNICATION_MODE = 0xC2
    SET_INHIBIT = 0xC3  # 1 byte: 0x00 accept notes, 0x01 inhibit the acceptor
    SET_DIRECTION = 0xC4
    SET_OPTIONAL_FUNCTION = 0xC5
    # Setting status requests: answered with the same code and the current data.
    GET_ENABLE = 0x80
    GET_SECURITY = 0x81
    GET_INHIBIT = 0x83
    GET_VERSION = 0x88
    GET_BOOT_VERSION = 0x89
    GET_CURRENCY_ASSIGN = 0x8A


class Status(IntEnum):
    """Acceptor to controller, in answer to STATUS_REQUEST."""

    ENABLE = 0x11  # idling, ready for a note
    ACCEPTING = 0x12
    ESCROW = 0x13  # data: the denomination code
    STACKING = 0x14
    VEND_VALID = 0x15  # repeated until the controller sends ACK
    STACKED = 0x16
    REJECTING = 0x17  # data: the reject reason
    RETURNING = 0x18
    HOLDING = 0x19
    DISABLE = 0x1A  # inhibited
    INITIALIZE = 0x1B
    POWER_UP = 0x40
    POWER_UP_BILL_IN_ACCEPTOR = 0x41
    POWER_UP_BILL_IN_STACKER = 0x42
    STACKER_FULL = 0x43
    STACKER_OPEN = 0x44  # the cash box is removed
    ACCEPTOR_JAM = 0x45
    STACKER_JAM = 0x46
    PAUSE = 0x47
    CHEATED = 0x48
    FAILURE = 0x49  # data: the failure code
    COMMUNICATION_ERROR = 0x4A
    INVALID_COMMAND = 0x4B
    ACK = 0x50  # the answer to operation commands (reset, stack, return, hold)


# Statuses that stop the acceptor until a person acts; the name is the fault code.
FAULTS: dict[Status, str] = {
    Status.STACKER_FULL: "cassette_full",
    Status.STACKER_OPEN: "cassette_removed",
    Status.ACCEPTOR_JAM: "acceptor_jam",
    Status.STACKER_JAM: "stacker_jam",
    Status.CHEATED: "cheated",
    Status.FAILURE: "failure",
    Status.PAUSE: "pause",
}

FAULT_MESSAGES: dict[str, str] = {
    "cassette_full": "the cash box is full: empty it",
    "cassette_removed": "the cash box is removed: put it back and lock it",
    "acceptor_jam": "a note is jammed in the acceptor head: open it and clear the path",
    "stacker_jam": "a note is jammed in the stacker: remove the cash box and clear it",
    "cheated": "the acceptor detected a cheating attempt (a note pulled back)",
    "failure": "the acceptor reports a hardware failure",
    "pause": "a second note was inserted while stacking; remove it",
}

REJECT_REASONS: dict[int, str] = {
    0x71: "insertion error",
    0x72: "magnetic pattern error",
    0x73: "note remaining in the head",
    0x74: "compensation error",
    0x75: "transport error",
    0x76: "denomination not identified",
    0x77: "photo pattern error",
    0x78: "photo level error",
    0x79: "inhibited (denomination disabled or acceptor inhibited)",
    0x7A: "not used",
    0x7B: "operation error",
    0x7C: "returned while stacking",
    0x7D: "length error",
    0x7E: "color pattern error",
}

FAILURE_CODES: dict[int, str] = {
    0xA2: "stack motor failure",
    0xA5: "transport motor speed failure",
    0xA6: "transport motor failure",
    0xA8: "solenoid failure",
    0xA9: "PB unit failure",
    0xAB: "cash box not ready",
    0xAF: "validator head removed",
    0xB0: "boot ROM failure",
    0xB1: "external ROM failure",
    0xB2: "RAM failure",
    0xB3: "external ROM writing failure",
}

# Escrow codes 0x61.. are assigned per currency by the acceptor's software (its
# "currency assign" table). This default, in minor units of a two-decimal
# currency (a 20 note is 2000), is the simulator's; a kiosk passes its model's.
DEFAULT_DENOMINATIONS: dict[int, int] = {
    0x61: 100,
    0x62: 200,
    0x63: 500,
    0x64: 1000,
    0x65: 2000,
    0x66: 5000,
    0x67: 10000,
}


def enable_mask(enabled_codes: set[int]) -> bytes:
    """SET_ENABLE data: bit n of the 16-bit field is code 0x61+n; a set bit inhibits it."""
    mask = 0
    for n in range(16):
        if 0x61 + n not in enabled_codes:
            mask |= 1 << n
    return bytes([mask & 0xFF, mask >> 8])


def enabled_from_mask(data: bytes) -> set[int]:
    mask = data[0] | (data[1] << 8) if len(data) >= 2 else (data[0] if data else 0)
    return {0x61 + n for n in range(16) if not mask & (1 << n)}
