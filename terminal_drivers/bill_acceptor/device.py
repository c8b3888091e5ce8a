"""The ID-003 driver: one ``BillAcceptor`` owns the line, the retries and the note in escrow.

The controller polls; each poll is one STATUS_REQUEST and returns what changed
as ``BillEvent`` values. The money rule (DESIGN.md, Hardware): a note is
``CREDITED`` only when the acceptor reports VEND VALID, which it repeats until
the controller's ACK arrives; the driver credits the first one of an escrow
and only ACKs the repeats, so a lost ACK never pays twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from terminal_drivers.bill_acceptor import id003
from terminal_drivers.bill_acceptor.codes import (
    DEFAULT_DENOMINATIONS,
    FAILURE_CODES,
    FAULT_MESSAGES,
    FAULTS,
    REJECT_REASONS,
    Command,
    Status,
    enable_mask,
)
from terminal_drivers.device_log import DeviceLog
from terminal_drivers.errors import (
    CommunicationError,
    DeviceNeedsTechnician,
    DeviceTimeout,
    DriverError,
    ProtocolError,
)
from terminal_drivers.self_test import SelfTestResult
from terminal_drivers.transport import LineSettings, TraceHook, Transport, open_transport

log = logging.getLogger(__name__)

# ID-003 lines run at 9600 baud, 8 data bits, even parity, 1 stop bit.
LINE = LineSettings(baud=9600, parity="E")
DEVICE_NAME = "bill acceptor (ID-003)"

_POWER_UPS = {Status.POWER_UP, Status.POWER_UP_BILL_IN_ACCEPTOR, Status.POWER_UP_BILL_IN_STACKER}
_OPERATIONS = {Command.RESET, Command.STACK_1, Command.STACK_2, Command.RETURN, Command.HOLD}


class BillEventKind(StrEnum):
    POWER_UP = "power_up"
    ESCROW = "escrow"  # a note waits for stack or return: NOT money yet
    CREDITED = "credited"  # vend valid: the note is the customer's money now
    REJECTED = "rejected"
    RETURNED = "returned"
    FAULT = "fault"
    FAULT_CLEARED = "fault_cleared"
    COMMUNICATION_RESTORED = "communication_restored"
    # Something that may be money the driver cannot attribute (vend valid with no
    # known escrow after a restart, power lost with a note in the stacker): the
    # kiosk reconciles it from its journal; the driver never guesses.
    UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class BillEvent:
    kind: BillEventKind
    amount: int | None = None  # minor units (a 20 note is 2000), from the denomination table
    code: str = ""  # fault code or reject code
    detail: str = ""


# Given the amount in escrow: True stacks it, False returns it, None holds it
# (the kiosk asks the customer, then calls ``stack()`` or ``return_bill()``).
EscrowPolicy = Callable[[int], bool | None]


class BillAcceptor:
    def __init__(
        self,
        transport: Transport,
        *,
        denominations: dict[int, int] | None = None,
        reply_timeout: float = 0.3,
        retries: int = 3,
        escrow_policy: EscrowPolicy | None = None,
    ) -> None:
        self.transport = transport
        self.log = DeviceLog(log, DEVICE_NAME, transport.url)
        self.denominations = dict(denominations or DEFAULT_DENOMINATIONS)
        self.reply_timeout = reply_timeout
        self.retries = retries
        self.escrow_policy = escrow_policy
        self.status: Status | None = None
        self.status_data = b""
        self.online = True
        self._framer = id003.Framer()
        self._want_enabled: set[int] | None = None  # amounts; None = inhibited
        self._escrow_amount: int | None = None  # announced, not yet credited nor returned
        self._in_vend = False  # credited this vend valid already: only ACK repeats
        self._stack_sent = False  # the note in escrow was told to stack
        self._fault: str = ""
        self._restored = False

    @classmethod
    def open(cls, url: str, *, trace: TraceHook | None = None, **options: float) -> BillAcceptor:
        transport = open_transport(url, trace=trace, defaults=LINE)
        return cls(transport, **options)  # type: ignore[arg-type]

    def close(self) -> None:
        self.transport.close()

    @property
    def url(self) -> str:
        return self.transport.url

    # -- one request, one reply ---------------------------------------------------
    def transact(self, command: int, data: bytes = b"") -> id003.Frame:
        """Send a frame and return the acceptor's answer, retrying lost or garbled replies."""
        request = id003.encode(command, data)
        garbled = False
        for attempt in range(1, self.retries + 1):
            self._framer.clear()
            self._framer.take_discarded()
            self.transport.discard_input()
            self.transport.write(request)
            frame = self._read_frame()
            garbage = self._framer.take_discarded() + self._framer.pending
            if garbage:
                garbled = True
                self.log.warning("discarded bytes %s", garbage.hex(" "))
            if frame is None:
                self.log.info("no valid reply to %02X (try %d)", command, attempt)
                continue
            if frame.command == Status.COMMUNICATION_ERROR:
                self.log.warning("acceptor saw a damaged request %02X", command)
                continue
            if frame.command == Status.INVALID_COMMAND:
                raise ProtocolError(f"{self.url}: the acceptor rejects command {command:02X}")
            if not self.online:
                self.log.warning("communication restored")
                self.online = True
                self._restored = True
            return frame
        self.online = False
        where = self.transport.description
        if garbled:
            raise ProtocolError(
                f"only garbled replies to {command:02X} on {where}: "
                "check the baud rate (9600, even parity) and the line"
            )
        raise DeviceTimeout(f"no reply to {command:02X} on {where} after {self.retries} tries")

    def _read_frame(self) -> id003.Frame | None:
        deadline = time.monotonic() + self.reply_timeout
        while (remaining := deadline - time.monotonic()) > 0:
            chunk = self.transport.read(64, remaining)
            if not chunk:
                return None
            frames = self._framer.feed(chunk)
            if frames:
                if len(frames) > 1:
                    self.log.warning("extra frames ignored: %s", frames[1:])
                return frames[0]
        return None

    def _send_no_reply(self, command: int) -> None:
        # The controller's ACK to VEND VALID has no answer (ID-003, vend valid sequence).
        self.transport.write(id003.encode(command))

    def _operate(self, command: Command) -> None:
        frame = self.transact(command)
        if frame.command != Status.ACK:
            raise ProtocolError(f"{self.url}: expected ACK to {command.name}, got {frame}")

    def _setting(self, command: Command, data: bytes) -> None:
        frame = self.transact(command, data)
        # Setting commands are echoed with their data (ID-003, setting commands).
        if frame.command != command or frame.data != data:
            raise ProtocolError(f"{self.url}: {command.name} echoed as {frame}")

    # -- operations ---------------------------------------------------------------
    def reset(self) -> None:
        """Reset the acceptor; it initialises, then waits inhibited for ``enable``."""
        self.log.info("reset")
        self._operate(Command.RESET)
        self._in_vend = False

    def enable(self, amounts: Iterable[int] | None = None) -> None:
        """Accept these denominations (all known ones if None); re-applied after resets."""
        wanted = set(self.denominations.values()) if amounts is None else set(amounts)
        unknown = wanted - set(self.denominations.values())
        if unknown:
            raise ValueError(f"no denomination code for {sorted(unknown)}")
        self._want_enabled = wanted
        self._apply_settings()

    def inhibit(self) -> None:
        self._want_enabled = None
        self._setting(Command.SET_INHIBIT, b"\x01")

    def _apply_settings(self) -> None:
        if self._want_enabled is None:
            return
        codes = {c for c, amount in self.denominations.items() if amount in self._want_enabled}
        self._setting(Command.SET_ENABLE, enable_mask(codes))
        self._setting(Command.SET_INHIBIT, b"\x00")

    def stack(self) -> None:
        self._operate(Command.STACK_1)

    def return_bill(self) -> None:
        self._operate(Command.RETURN)

    def hold(self) -> None:
        """Keep the note in escrow longer (the customer is still deciding)."""
        self._operate(Command.HOLD)

    def version(self) -> str:
        return self.transact(Command.GET_VERSION).data.decode("ascii", "replace").strip()

    # -- polling ------------------------------------------------------------------
    def poll(self) -> list[BillEvent]:
        """One status request; returns what happened. Raises ``CommunicationError``
        or ``ProtocolError`` when the acceptor cannot be heard (the caller retries)."""
        frame = self.transact(Command.STATUS_REQUEST)
        events: list[BillEvent] = []
        if self._restored:
            self._restored = False
            events.append(BillEvent(BillEventKind.COMMUNICATION_RESTORED))
        try:
            status = Status(frame.command)
        except ValueError as err:
            raise ProtocolError(f"{self.url}: unknown status {frame}") from err
        previous, self.status, self.status_data = self.status, status, frame.data
        changed = status != previous
        if changed:
            self.log.info("%s %s", status.name, frame.data.hex())
        events += self._react(status, frame.data, changed)
        return events

    def _react(self, status: Status, data: bytes, changed: bool) -> list[BillEvent]:
        events: list[BillEvent] = []
        if status != Status.VEND_VALID:
            self._in_vend = False
        fault = FAULTS.get(status, "")
        if fault != self._fault:
            if self._fault:
                events.append(BillEvent(BillEventKind.FAULT_CLEARED, code=self._fault))
            if fault:
                events.append(self._fault_event(status, fault, data))
            self._fault = fault
        if fault:
            return events

        if status in _POWER_UPS:
            events.append(BillEvent(BillEventKind.POWER_UP, detail=status.name))
            if status == Status.POWER_UP_BILL_IN_STACKER:
                events.append(
                    BillEvent(
                        BillEventKind.UNCERTAIN,
                        detail="power returned with a note in the stacker: reconcile",
                    )
                )
            self._take_escrow()
            self.reset()  # ID-003: after power-up the controller must send RESET
        elif status == Status.DISABLE and self._want_enabled is not None:
            self._apply_settings()  # after a reset or power cut the settings are gone
        elif status in (Status.ESCROW, Status.HOLDING):
            events += self._on_escrow(status, data)
        elif status == Status.VEND_VALID:
            events += self._on_vend_valid()
        elif status == Status.REJECTING and changed:
            code = data[0] if data else 0
            reason = REJECT_REASONS.get(code, f"reject code {code:02X}")
            self._take_escrow()
            events.append(BillEvent(BillEventKind.REJECTED, code=f"{code:02X}", detail=reason))
        elif status == Status.RETURNING and changed:
            amount = self._take_escrow()
            events.append(BillEvent(BillEventKind.RETURNED, amount=amount))
        elif status in (Status.ENABLE, Status.DISABLE) and self._escrow_amount is not None:
            # Back to idle with a note announced but never vended: it went back to
            # the customer (escrow timeout) or was lost; either way it is not money.
            amount = self._take_escrow()
            events.append(BillEvent(BillEventKind.RETURNED, amount=amount, detail="not vended"))
        return events

    def _take_escrow(self) -> int | None:
        """Forget the note in escrow (credited, returned or lost); returns its amount."""
        amount, self._escrow_amount, self._stack_sent = self._escrow_amount, None, False
        return amount

    def _on_escrow(self, status: Status, data: bytes) -> list[BillEvent]:
        events: list[BillEvent] = []
        if status == Status.HOLDING:
            return events
        code = data[0] if data else 0
        amount = self.denominations.get(code)
        if amount is None:
            self.log.warning("escrow with unknown denomination code %02X", code)
            self.return_bill()
            return [BillEvent(BillEventKind.REJECTED, code=f"{code:02X}", detail="unknown note")]
        if self._escrow_amount != amount:
            self._escrow_amount = amount
            events.append(BillEvent(BillEventKind.ESCROW, amount=amount))
        decision = self._accepts(amount)
        if decision is None:
            self.hold()
        elif decision:
            self.stack()
            self._stack_sent = True
        else:
            self.return_bill()
        return events

    def _accepts(self, amount: int) -> bool | None:
        if self.escrow_policy is not None:
            return self.escrow_policy(amount)
        return self._want_enabled is not None and amount in self._want_enabled

    def _on_vend_valid(self) -> list[BillEvent]:
        self._send_no_reply(Command.ACK)
        if self._in_vend:
            return []  # the acceptor did not hear our ACK and repeats: already credited
        self._in_vend = True
        amount = self._take_escrow()
        if amount is None:
            self.log.error("vend valid with no escrow seen")
            return [BillEvent(BillEventKind.UNCERTAIN, detail="vend valid with no known escrow")]
        self.log.info("credited %s", amount)
        return [BillEvent(BillEventKind.CREDITED, amount=amount)]

    def _fault_event(self, status: Status, fault: str, data: bytes) -> BillEvent:
        detail = FAULT_MESSAGES[fault]
        if status == Status.FAILURE and data:
            detail = f"{detail}: {FAILURE_CODES.get(data[0], f'code {data[0]:02X}')}"
        if self._escrow_amount is not None and self._stack_sent:
            # The note may already be in the box: only vend valid, after the fault
            # is cleared, credits it; an acceptor back at idle without one did not.
            detail += f" (a {self._escrow_amount} note was being stacked: not credited yet)"
        elif self._escrow_amount is not None:
            detail += f" (a {self._escrow_amount} note in escrow was NOT credited)"
            self._take_escrow()
        self.log.error("%s", detail)
        return BillEvent(BillEventKind.FAULT, code=fault, detail=detail)

    def require_ready(self) -> None:
        """Raise ``DeviceNeedsTechnician`` if the last poll showed a fault."""
        if self._fault:
            raise DeviceNeedsTechnician(
                f"{self.url}: {FAULT_MESSAGES[self._fault]}", code=self._fault
            )

    # -- the technician's check -----------------------------------------------------
    def self_test(self) -> SelfTestResult:
        where = self.transport.description
        try:
            frame = self.transact(Command.STATUS_REQUEST)
        except DeviceTimeout:
            reason = (
                f"no reply on {where}: check the cable, the acceptor's power, "
                "and its DIP switches for ID-003"
            )
            return SelfTestResult(DEVICE_NAME, self.url, False, reason)
        except DriverError as err:
            return SelfTestResult(DEVICE_NAME, self.url, False, str(err))
        details = {"status": f"{frame.command:02X}"}
        try:
            status = Status(frame.command)
        except ValueError:
            return SelfTestResult(DEVICE_NAME, self.url, False, f"unknown status {frame}", details)
        details["status"] = status.name
        try:
            details["version"] = self.version()
        except DriverError:
            self.log.info("no version reply")
        fault = FAULTS.get(status, "")
        if fault:
            return SelfTestResult(DEVICE_NAME, self.url, False, FAULT_MESSAGES[fault], details)
        return SelfTestResult(DEVICE_NAME, self.url, True, "", details)


def self_test(url: str, *, trace: TraceHook | None = None) -> SelfTestResult:
    """Open ``url``, check the acceptor answers and is not faulted, close."""
    try:
        acceptor = BillAcceptor.open(url, trace=trace)
    except DriverError as err:
        return SelfTestResult(DEVICE_NAME, url, False, f"cannot open the port: {err}")
    try:
        return acceptor.self_test()
    finally:
        acceptor.close()


__all__ = [
    "LINE",
    "BillAcceptor",
    "BillEvent",
    "BillEventKind",
    "CommunicationError",
    "self_test",
]
