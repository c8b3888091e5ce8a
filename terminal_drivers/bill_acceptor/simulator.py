"""The acceptor's side of ID-003 on a pty: a JCM-like acceptor with its real faults.

The model answers every frame the way the ID-003 specification describes:
STATUS_REQUEST with the current status, operation commands (reset, stack,
return, hold) with ACK, setting commands with an echo, ACK with nothing.
A note goes ACCEPTING -> ESCROW -> (stack) STACKING -> VEND VALID, repeated
until the controller ACKs -> STACKED -> idle; each transient status is shown
for one status request, so a test sees every step.

Physical conditions (cassette present, a jam, a failure code, a full box)
are kept apart from the protocol state and win over it, as on the device.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

from terminal_drivers.bill_acceptor import id003
from terminal_drivers.bill_acceptor.codes import (
    DEFAULT_DENOMINATIONS,
    Command,
    Status,
    enabled_from_mask,
)
from terminal_drivers.simulation.serial_device import (
    Command as ControlCommand,
)
from terminal_drivers.simulation.serial_device import (
    SerialSimulator,
    SimulatorCommandError,
)

log = logging.getLogger(__name__)

VERSION = b"SIM-ID003 PREPAID V1.00"
COUNTERFEIT = -1  # a queued "note" that fails validation
Reply = tuple[int, bytes]  # a status, or the code of an echoed setting


class BillAcceptorSimulator(SerialSimulator):
    name = "bill-acceptor"

    def __init__(
        self,
        *,
        baud: int = 9600,
        pace: bool = False,
        denominations: dict[int, int] | None = None,
        capacity: int = 500,
        escrow_timeout: float = 10.0,
    ) -> None:
        # 8E1: start + 8 data + parity + stop = 11 bits a byte.
        super().__init__(baud=baud, pace=pace, bits_per_byte=11)
        self.denominations = dict(denominations or DEFAULT_DENOMINATIONS)
        self.capacity = capacity
        self.escrow_timeout = escrow_timeout
        self._framer = id003.Framer()
        # Settings, lost at power-up and reset.
        self.enabled_codes: set[int] = set(self.denominations)
        self.inhibited = True
        # Physical conditions.
        self.cassette_present = True
        self.cassette_count = 0
        self.jam: str = ""  # "", "acceptor" or "stacker"
        self.failure_code = 0
        self._stacker_jam_armed = False
        # Protocol state.
        self._power_up: Status | None = Status.POWER_UP
        self._initializing = 0
        self._shown: deque[Reply] = deque()  # transient statuses, one per request
        self._steady: Reply | None = None  # waiting for a command (escrow, vend valid)
        self._escrow_code = 0
        self._escrow_deadline = 0.0
        self._inserted: deque[int] = deque()
        self._ignore_acks = 0
        self.stacked: list[int] = []  # amounts that reached the cash box, for tests
        self.returned: list[int] = []
        self.last_status: Reply | None = None

    # -- bytes in, bytes out ----------------------------------------------------------
    def on_bytes(self, data: bytes) -> bytes:
        out = b""
        for frame in self._framer.feed(data):
            reply = self._answer(frame)
            if reply is not None:
                out += id003.encode(reply[0], reply[1])
        garbage = self._framer.take_discarded()
        if garbage:
            log.debug("bill-acceptor sim: discarded %s", garbage.hex(" "))
        return out

    def _answer(self, frame: id003.Frame) -> Reply | None:
        cmd = frame.command
        if cmd == Command.STATUS_REQUEST:
            self.last_status = self._status()
            return self.last_status
        if cmd == Command.ACK:
            self._on_ack()
            return None
        if cmd == Command.RESET:
            self._reset()
            return Status.ACK, b""
        if cmd in (Command.STACK_1, Command.STACK_2, Command.RETURN, Command.HOLD):
            return self._operate(Command(cmd))
        if cmd == Command.SET_ENABLE and len(frame.data) == 2:
            self.enabled_codes = enabled_from_mask(frame.data)
            return cmd, frame.data
        if cmd == Command.SET_INHIBIT and len(frame.data) == 1:
            self.inhibited = frame.data[0] != 0
            return cmd, frame.data
        if cmd in (Command.SET_SECURITY, Command.SET_DIRECTION, Command.SET_OPTIONAL_FUNCTION):
            return cmd, frame.data
        if cmd == Command.GET_ENABLE:
            mask = 0
            for n in range(16):
                if 0x61 + n not in self.enabled_codes:
                    mask |= 1 << n
            return cmd, bytes([mask & 0xFF, mask >> 8])
        if cmd == Command.GET_INHIBIT:
            return cmd, bytes([1 if self.inhibited else 0])
        if cmd == Command.GET_VERSION:
            return cmd, VERSION
        return Status.INVALID_COMMAND, b""

    # -- the state machine ------------------------------------------------------------
    def _fault(self) -> Reply | None:
        if not self.cassette_present:
            return Status.STACKER_OPEN, b""
        if self.jam == "acceptor":
            return Status.ACCEPTOR_JAM, b""
        if self.jam == "stacker":
            return Status.STACKER_JAM, b""
        if self.failure_code:
            return Status.FAILURE, bytes([self.failure_code])
        return None

    def _idle(self) -> Reply:
        if self.cassette_count >= self.capacity:
            return Status.STACKER_FULL, b""
        return (Status.DISABLE if self.inhibited else Status.ENABLE), b""

    def _status(self) -> Reply:
        if self._power_up is not None:
            return self._power_up, b""
        if self._initializing:
            self._initializing -= 1
            return Status.INITIALIZE, b""
        fault = self._fault()
        if fault is not None:
            return fault
        if self._shown:
            return self._shown.popleft()
        if self._steady is not None:
            if self._steady[0] == Status.ESCROW and time.monotonic() > self._escrow_deadline:
                # Nobody said stack or return in time: the acceptor gives the note back.
                self._give_back()
                return self._shown.popleft()
            return self._steady
        idle = self._idle()
        if self._inserted:
            return self._take_note(self._inserted.popleft(), idle)
        return idle

    def _take_note(self, code: int, idle: Reply) -> Reply:
        if idle[0] != Status.ENABLE:
            # Inhibited or full: the note is pushed back at the slot.
            self._shown.append((Status.REJECTING, b"\x79"))
            return self._shown.popleft()
        self._shown.append((Status.ACCEPTING, b""))
        if code == COUNTERFEIT:
            self._shown.append((Status.REJECTING, b"\x72"))  # magnetic pattern error
        elif code not in self.enabled_codes:
            self._shown.append((Status.REJECTING, b"\x79"))  # denomination inhibited
        else:
            self._escrow_code = code
            self._escrow_deadline = time.monotonic() + self.escrow_timeout
            self._steady = (Status.ESCROW, bytes([code]))
        return self._shown.popleft()

    def _give_back(self) -> None:
        self.returned.append(self.denominations[self._escrow_code])
        self._steady = None
        self._shown.append((Status.RETURNING, b""))

    def _operate(self, cmd: Command) -> Reply:
        steady = self._steady[0] if self._steady else None
        if steady not in (Status.ESCROW, Status.HOLDING) or self._fault():
            return Status.INVALID_COMMAND, b""
        if cmd == Command.HOLD:
            self._steady = (Status.HOLDING, b"")
            self._escrow_deadline = time.monotonic() + self.escrow_timeout
        elif cmd == Command.RETURN:
            self._give_back()
        else:
            self._shown.append((Status.STACKING, b""))
            self._steady = None
            if self._stacker_jam_armed:
                self._stacker_jam_armed = False
                self.jam = "stacker"  # the note never reaches the box: no vend valid
            else:
                # The note is in the box: vend valid is owed until the controller ACKs.
                self.cassette_count += 1
                self.stacked.append(self.denominations[self._escrow_code])
                self._steady = (Status.VEND_VALID, b"")
        return Status.ACK, b""

    def _on_ack(self) -> None:
        if self._steady is None or self._steady[0] != Status.VEND_VALID:
            return
        if self._ignore_acks:
            self._ignore_acks -= 1  # the ACK is lost on the line: vend valid repeats
            return
        self._steady = None
        self._shown.append((Status.STACKED, b""))

    def _reset(self) -> None:
        self._power_up = None
        self._initializing = 1
        self.inhibited = True
        self.enabled_codes = set(self.denominations)
        self._shown.clear()
        if self._steady is not None and self._steady[0] in (Status.ESCROW, Status.HOLDING):
            self.returned.append(self.denominations[self._escrow_code])
        self._steady = None  # a reset returns a note in escrow and forgets a vend valid

    @property
    def busy(self) -> bool:
        """A note is queued or on its way (tests poll until this is False)."""
        with self.lock:
            return bool(self._inserted or self._shown or self._steady or self._initializing)

    # -- control commands -------------------------------------------------------------
    def commands(self) -> dict[str, ControlCommand]:
        return {
            "insert": self.insert,
            "counterfeit": self.counterfeit,
            "jam": self.make_jam,
            "clear": self.clear,
            "remove_cassette": self.remove_cassette,
            "insert_cassette": self.insert_cassette,
            "cassette_full": self.cassette_full,
            "failure": self.failure,
            "power_cycle": self.power_cycle,
            "ignore_acks": self.ignore_acks,
        }

    def insert(self, value: int | None = None, code: int | None = None) -> dict[str, Any]:
        """A customer inserts a genuine note of ``value`` major units (or escrow ``code``)."""
        if code is None:
            minor = None if value is None else value * 100
            codes = [c for c, v in self.denominations.items() if v == minor]
            if not codes:
                raise SimulatorCommandError(f"no note of value {value!r}")
            code = codes[0]
        self._inserted.append(code)
        return {"queued": self.denominations.get(code, code)}

    def counterfeit(self) -> dict[str, Any]:
        self._inserted.append(COUNTERFEIT)
        return {"queued": "counterfeit"}

    def make_jam(self, where: str = "acceptor") -> dict[str, Any]:
        """Jam the acceptor head now, or the stacker (at the next stack if a note waits)."""
        if where not in ("acceptor", "stacker"):
            raise SimulatorCommandError("where must be 'acceptor' or 'stacker'")
        if where == "stacker" and self._steady and self._steady[0] == Status.ESCROW:
            self._stacker_jam_armed = True
            return {"jam": "stacker", "armed": True}
        self.jam = where
        self._drop_note()
        return {"jam": where}

    def _drop_note(self) -> None:
        # A jam strands a note not yet stacked: it is neither stacked nor returned.
        # A note already in the box keeps its vend valid, owed once the fault clears.
        self._shown.clear()
        if self._steady is None or self._steady[0] != Status.VEND_VALID:
            self._steady = None

    def clear(self) -> dict[str, Any]:
        """A technician clears a jam or failure; the acceptor initialises again."""
        self.jam, self.failure_code = "", 0
        self._initializing = 1
        return {"cleared": True}

    def remove_cassette(self) -> dict[str, Any]:
        self.cassette_present = False
        self._drop_note()
        return {"cassette_present": False}

    def insert_cassette(self, empty: bool = True) -> dict[str, Any]:
        self.cassette_present = True
        if empty:
            self.cassette_count = 0
        self._initializing = 1
        return {"cassette_present": True, "count": self.cassette_count}

    def cassette_full(self) -> dict[str, Any]:
        self.cassette_count = self.capacity
        return {"count": self.cassette_count}

    def failure(self, code: int = 0xA2) -> dict[str, Any]:
        self.failure_code = code
        self._drop_note()
        return {"failure": f"{code:02X}"}

    def power_cycle(self, bill_in_stacker: bool | None = None) -> dict[str, Any]:
        """Power cut and back; by default a note whose vend valid was never
        acknowledged is reported as "power up with bill in stacker"."""
        if bill_in_stacker is None:
            bill_in_stacker = self._steady is not None and self._steady[0] == Status.VEND_VALID
        self._reset()
        self._initializing = 0
        status = Status.POWER_UP_BILL_IN_STACKER if bill_in_stacker else Status.POWER_UP
        self._power_up = status
        return {"power_up": status.name}

    def ignore_acks(self, count: int = 1) -> dict[str, Any]:
        self._ignore_acks += count
        return {"ignore_acks": self._ignore_acks}

    def state(self) -> dict[str, Any]:
        status = self.last_status
        return {
            **super().state(),
            "status": _name(status[0]) if status else None,
            "inhibited": self.inhibited,
            "cassette_present": self.cassette_present,
            "cassette_count": self.cassette_count,
            "jam": self.jam,
            "stacked": list(self.stacked),
            "returned": list(self.returned),
        }


def _name(code: int) -> str:
    try:
        return Status(code).name
    except ValueError:
        return f"{code:02X}"


def create(*, baud: int = 9600, pace: bool = False, **options: Any) -> BillAcceptorSimulator:
    return BillAcceptorSimulator(baud=baud, pace=pace, **options)
