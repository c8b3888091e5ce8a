"""The barrier gate's controller: loop in, frames, one decision per vehicle, the arm, the journal.

Per lane, on each ``step``:

1. the vehicle-present loop rises: frames are read through ``lpr`` and voted on
   (``PlateVoter``) until one decision, as early as a strong frame allows, or
   ``max_read_s`` after the trigger;
2. a read below the acting threshold, or one that matches a registered plate
   only fuzzily, never opens for a pass: an entry issues a QR ticket or calls
   the guard (``low_read``); an exit matches it against the cars inside, where
   a fuzzy match may close a session;
3. the decision is journalled (``gate_open`` with the decision record: plate,
   tariff version, amount, how paid) *before* the relay is raised, and offered
   to the server through the ``Uplink`` (kept in the journal when offline);
4. the arm stays up while the loop reports a vehicle and drops ``close_delay_s``
   after the loop clears; a second vehicle on the loop before the arm drops is
   tailgating (two vehicles, one read), journalled;
5. an exit that is not paid waits for a payment (QR on the display, or the
   guard; offline, the estate's rule) with the arm down.

The fire-alarm input raises every arm and holds them until it clears. A
guard's manual open needs a reason, and is journalled with it. The controller
owns the board, the cameras and the journal; a display shows ``Event``s only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Literal, Protocol

import numpy as np

from domain.parking import RuleAction, Situation
from gate.barrier.book import ExitDecision, ParkingBook, Stay
from gate.barrier.payments import PaymentProvider, PaymentRequest
from lpr.matching import MatchKind
from lpr.types import Reading
from lpr.voting import Decision, PlateVoter, VoteSettings

log = logging.getLogger("gate.barrier")

# The journal's meta key: the last journal seq whose decision the server has.
UPLINK_CURSOR = "parking_uplink_seq"


class Board(Protocol):
    """``terminal_drivers.relay_board.RelayBoard`` as the gate uses it."""

    def read_raw_inputs(self) -> tuple[bool, ...]: ...

    def set_relay(self, relay: int, on: bool) -> None: ...


class Reader(Protocol):
    """``lpr.reader.PlateReader`` as the gate uses it."""

    def read(self, frame: np.ndarray) -> list[Reading]: ...


class Journal(Protocol):
    """``offline_queue.journal.Journal``: returns the entry (with its ``seq``)."""

    def append(self, kind: str, body: dict[str, Any]) -> Any: ...


class Uplink(Protocol):
    """The server's parking endpoints; ``None`` when it cannot be reached (retried later)."""

    def submit(self, path: str, body: dict[str, Any], key: str) -> dict[str, Any] | None: ...


Camera = Callable[[], np.ndarray | None]  # the lane camera's next frame, None if none yet


class State(Enum):
    IDLE = "idle"
    READING = "reading"
    OPEN = "open"
    AWAIT_PAYMENT = "await_payment"
    AWAIT_TICKET = "await_ticket"
    CALL_GUARD = "call_guard"
    FIRE = "fire"


@dataclass(frozen=True)
class LaneSettings:
    lane: str
    direction: Literal["entry", "exit"]
    relay: int
    loop_input: int  # input terminal, from 1
    # A second loop past the arm: a car that cleared the first loop without reaching it
    # backed out. 0 = not wired, and then a reversal cannot be told from a passage.
    passage_input: int = 0
    max_read_s: float = 2.5
    close_delay_s: float = 0.5
    low_read: Literal["qr_ticket", "call_guard"] = "qr_ticket"
    offline_unpaid: Literal["guard", "ticket"] = "ticket"
    vote: VoteSettings = field(default_factory=VoteSettings)


@dataclass(frozen=True)
class Event:
    """What a display shows and a test checks: one thing that happened at a lane."""

    lane: str
    kind: str  # opened | refused | await_payment | call_guard | tailgate | closed | fire | ...
    plate: str | None = None
    message: str = ""
    amount: int = 0
    latency_s: float | None = None  # loop trigger to relay command
    record: dict[str, Any] = field(default_factory=dict)


def _seq(entry: Any) -> Any:
    return getattr(entry, "seq", entry)


class Lane:
    def __init__(self, settings: LaneSettings, gate: GateController, camera: Camera) -> None:
        self.settings = settings
        self.gate = gate
        self.camera = camera
        self.state = State.IDLE
        self.voter = PlateVoter(settings.vote)
        self.triggered_at = 0.0
        self.triggered_real: float | None = None  # perf_counter at the loop trigger
        self.loop = False
        self.cleared_at: float | None = None
        self.tailgated = False
        self.pending: ExitDecision | None = None
        self.payment: PaymentRequest | None = None
        self.relay_on = False
        self.passed = False  # the passage loop saw the vehicle since the arm went up
        self.watch_tailgate = False  # the arm is up for one vehicle (not for a fire)
        self.opened_for: tuple[str, str] | None = None  # (plate, direction) of the opening
        self.settled: Stay | None = None  # the stay an exit closed, back if the car reverses

    # -- the arm -------------------------------------------------------------------------

    def raise_arm(self) -> None:
        self.gate.board.set_relay(self.settings.relay, True)
        self.relay_on = True

    def try_close(self, now: float) -> bool:
        """Drop the arm, unless the loop reports a vehicle: the barrier never closes on one."""
        if self.loop:
            return False
        self.gate.board.set_relay(self.settings.relay, False)
        self.relay_on = False
        return True

    # -- one step ------------------------------------------------------------------------

    def step(self, loop: bool, now: float, passage: bool = False) -> list[Event]:
        rising, falling = loop and not self.loop, self.loop and not loop
        if passage and self.state is State.OPEN:
            self.passed = True
        self.loop = loop
        if self.state is State.FIRE:
            return []
        if self.state is State.IDLE:
            if rising:
                self.state = State.READING
                self.triggered_at = now
                self.triggered_real = time.perf_counter()
                self.voter = PlateVoter(self.settings.vote)
            else:
                return []
        if self.state is State.READING:
            return self._read(now)
        if self.state is State.OPEN:
            return self._open(rising, falling, now)
        if self.state is State.AWAIT_PAYMENT and loop and self.payment is not None:
            return self._poll_payment(now)
        if self.state in (State.AWAIT_PAYMENT, State.AWAIT_TICKET, State.CALL_GUARD) and not loop:
            # The car backed away from the barrier: nothing charged, it is still inside.
            plate = self.pending.plate if self.pending else None
            self.gate.journal_note(self, "vehicle_left_lane", {"plate": plate})
            self.state, self.pending, self.payment = State.IDLE, None, None
            return [Event(self.settings.lane, "left_lane", plate, "the vehicle backed away")]
        return []

    def _read(self, now: float) -> list[Event]:
        if not self.loop:
            self.state = State.IDLE
            self.gate.journal_note(self, "vehicle_left_unread", {})
            return [Event(self.settings.lane, "left_lane", None, "left before a read")]
        frame = self.camera()
        decisions: list[Decision] = []
        if frame is not None:
            readings = self.gate.reader.read(frame)
            decisions = self.voter.update(readings, now)
        if not decisions and now - self.triggered_at >= self.settings.max_read_s:
            decisions = self.voter.flush(now)
            if not decisions:
                return self._low_read(None, now)
        if not decisions:
            return []
        return self._decide(decisions[0], now)

    def _decide(self, decision: Decision, now: float) -> list[Event]:
        if self.settings.direction == "entry":
            return self._entry(decision, now)
        return self._exit(decision, now)

    # -- entry ---------------------------------------------------------------------------

    def _entry(self, decision: Decision, now: float) -> list[Event]:
        book = self.gate.book
        if not decision.actionable:
            return self._low_read(decision.text, now)
        if book.match(decision.text) is MatchKind.FUZZY:
            # Close to a registered plate but not it: never opens for a pass on its own.
            return self._low_read(decision.text, now, reason="not_exact")
        verdict = book.enter(decision.text, MatchKind.EXACT, self.gate.wall(), self.settings.lane)
        record = {
            "direction": "entry",
            "plate": verdict.plate,
            "lane": self.settings.lane,
            "at": self.gate.wall().isoformat(),
            "kind": verdict.kind,
            "unit": verdict.unit,
            "pass_id": verdict.pass_id,
            "confidence": round(decision.confidence, 4),
            "frames": decision.frames,
            "decided_by": decision.reason.name.lower(),
            "already_inside": verdict.already_inside,
        }
        upload = {
            "plate": verdict.plate,
            "lane": self.settings.lane,
            "at": record["at"],
            "match": "exact",
        }
        return self._open_for(record, "/v1/parking/entries", upload, now, verdict.plate)

    def _low_read(self, text: str | None, now: float, reason: str = "low_read") -> list[Event]:
        """No trusted read: an entry issues a QR ticket (or calls the guard), an exit calls
        the guard."""
        lane = self.settings.lane
        if self.settings.direction == "entry" and self.settings.low_read == "qr_ticket":
            at = self.gate.wall()
            ticket = self.gate.book.new_ticket(at, lane)
            record = {
                "direction": "entry",
                "plate": None,
                "read": text,
                "reason": reason,
                "ticket": ticket,
                "lane": lane,
                "at": at.isoformat(),
                "kind": "ticket",
            }
            # The server knows the stay by its ticket code.
            upload = {"plate": ticket, "lane": lane, "at": at.isoformat(), "match": "exact"}
            return self._open_for(record, "/v1/parking/entries", upload, now, ticket)
        self.gate.journal.append(
            "entry_refused", {"lane": lane, "read": text, "reason": reason, "action": "call_guard"}
        )
        self.state = State.CALL_GUARD
        return [Event(lane, "call_guard", text, f"{reason}: the guard is called")]

    # -- exit ----------------------------------------------------------------------------

    def _exit(self, decision: Decision, now: float) -> list[Event]:
        book = self.gate.book
        if not decision.actionable:
            if book.tickets:
                return self._ask_ticket(decision.text)
            return self._low_read(decision.text, now)
        verdict = book.exit(decision.text, self.gate.wall())
        if verdict.situation == Situation.EXIT_WITHOUT_ENTRY.value and book.tickets:
            # No stay for this plate, but visitors came in on tickets: ask for one.
            return self._ask_ticket(decision.text)
        return self._settle_exit(verdict, now)

    def _ask_ticket(self, read: str | None) -> list[Event]:
        self.state, self.pending = State.AWAIT_TICKET, None
        self.triggered_real = None
        self.gate.journal_note(self, "ticket_asked", {"read": read})
        return [Event(self.settings.lane, "await_ticket", read, "scan your ticket")]

    def ticket(self, code: str) -> list[Event]:
        """A ticket scanned at this exit (the lane's QR scanner, or typed by the guard)."""
        if self.state is not State.AWAIT_TICKET:
            return []
        verdict = self.gate.book.exit_ticket(code, self.gate.wall())
        if verdict is None:
            return [Event(self.settings.lane, "refused", None, "not a ticket of this gate")]
        return self._settle_exit(verdict, time.monotonic())

    def _settle_exit(self, verdict: ExitDecision, now: float) -> list[Event]:
        if verdict.pay_by is None:
            self.pending = verdict
            self.state = State.AWAIT_PAYMENT
            self.triggered_real = None  # the wait for a payment is not the gate's latency
            self.gate.journal.append(
                "note",
                {"event": "payment_required", "lane": self.settings.lane, **asdict(verdict)},
            )
            provider = self.gate.payments
            how = "pay at the guard or take a ticket"
            if provider is not None and self.gate.online:
                self.payment = provider.request(
                    amount=verdict.due, currency=self.gate.book.currency, memo=verdict.plate
                )
                how = f"scan the QR code: {self.payment.qr_text}"
            return [
                Event(
                    self.settings.lane,
                    "await_payment",
                    verdict.plate,
                    f"{verdict.due} due: {how}",
                    amount=verdict.due,
                )
            ]
        return self._let_out(verdict, verdict.pay_by, now)

    def _let_out(
        self, verdict: ExitDecision, paid_by: str, now: float, reference: str | None = None
    ) -> list[Event]:
        self.settled = self.gate.book.settle(verdict, paid_by)
        at = self.gate.wall().isoformat()
        record = {
            "direction": "exit",
            **asdict(verdict),
            "paid_by": paid_by,
            "payment_reference": reference,
            "lane": self.settings.lane,
            "at": at,
        }
        upload: dict[str, Any] = {
            "plate": verdict.plate,
            "lane": self.settings.lane,
            "at": at,
            "match": "fuzzy" if verdict.match == "fuzzy" else "exact",
        }
        # The decision record: what the gate charged, how, under which tariff version
        # (none for an exit without an entry, which the manager's rule priced).
        upload.update(
            tariff_version=verdict.tariff_version,
            amount=verdict.due,
            paid_by=paid_by if paid_by in ("wallet", "qr", "guard", "ticket") else None,
        )
        if paid_by == "qr" and self.gate.payments is not None:
            upload["provider"] = self.gate.payments.name
        self.pending = None
        return self._open_for(record, "/v1/parking/exits", upload, now, verdict.plate, verdict.due)

    def _poll_payment(self, now: float) -> list[Event]:
        provider, payment = self.gate.payments, self.payment
        if provider is None or payment is None or self.pending is None:
            return []
        status = provider.status(payment.reference)
        if status == "pending":
            return []
        self.payment = None
        if status == "failed":
            self.gate.journal_note(self, "qr_payment_failed", {"reference": payment.reference})
            return [Event(self.settings.lane, "payment_failed", self.pending.plate, "declined")]
        return self._let_out(self.pending, "qr", now, reference=payment.reference)

    def paid(self, method: Literal["qr", "guard", "ticket"]) -> list[Event]:
        """The driver at this exit paid (the QR provider confirmed, or the guard took it)."""
        if self.state is not State.AWAIT_PAYMENT or self.pending is None:
            return []
        return self._let_out(self.pending, method, time.monotonic())

    # -- opening and closing -------------------------------------------------------------

    def _open_for(
        self,
        record: dict[str, Any],
        path: str | None,
        upload: dict[str, Any] | None,
        now: float,
        plate: str | None,
        amount: int = 0,
    ) -> list[Event]:
        # Journalled before the relay moves: a gate never opens unrecorded. The record
        # carries what the server is to be told, so a restarted gate can still tell it.
        if path is not None and upload is not None:
            record = {**record, "upload": {"path": path, "body": upload}}
        entry = self.gate.journal.append("gate_open", record)
        self.raise_arm()
        # Real time from the loop trigger to the relay command (the benchmark's figure).
        latency = None if self.triggered_real is None else time.perf_counter() - self.triggered_real
        self.triggered_real = None
        self.state, self.cleared_at, self.tailgated = State.OPEN, None, False
        self.passed, self.watch_tailgate = False, True
        direction = str(record.get("direction", ""))
        self.opened_for = (plate, direction) if plate and direction else None
        if path is not None and upload is not None:
            self.gate.send(path, upload, int(_seq(entry)))
        return [
            Event(
                self.settings.lane,
                "opened",
                plate,
                str(record.get("kind") or record.get("paid_by") or ""),
                amount=amount,
                latency_s=latency,
                record=record,
            )
        ]

    def _open(self, rising: bool, falling: bool, now: float) -> list[Event]:
        events: list[Event] = []
        if falling:
            self.cleared_at = now
        if rising and self.cleared_at is not None and not self.watch_tailgate:
            self.cleared_at = None  # arms up for everyone (a fire): another car, no tailgating
        if rising and self.cleared_at is not None:
            # A second vehicle on the loop before the arm came down: two vehicles, one read.
            self.tailgated = True
            self.cleared_at = None
            self.gate.journal_note(self, "tailgate", {})
            events.append(Event(self.settings.lane, "tailgate", None, "two vehicles, one read"))
        if (
            self.cleared_at is not None
            and now - self.cleared_at >= self.settings.close_delay_s
            and self.try_close(now)
        ):
            self.state, self.triggered_at = State.IDLE, 0.0
            if self.settings.passage_input and self.opened_for and not self.passed:
                events.extend(self._reversed(*self.opened_for))
            self.opened_for = None
            events.append(Event(self.settings.lane, "closed"))
        return events

    def _reversed(self, plate: str, direction: str) -> list[Event]:
        """The arm went up and the car backed out instead of passing."""
        book = self.gate.book
        rule = book.rules[Situation.REVERSED_OUT]
        at = self.gate.wall()
        if direction == "entry" and rule.action is RuleAction.CANCEL:
            book.inside.pop(plate, None)  # it never came in
            book.tickets.pop(plate, None)
        if direction == "exit" and self.settled is not None:
            # Paid and still inside: the grace period runs from now.
            self.settled.paid_at = at
            book.inside[plate] = self.settled
        upload = {"plate": plate, "direction": direction, "lane": self.settings.lane}
        upload["at"] = at.isoformat()
        entry = self.gate.journal.append(
            "note",
            {
                "event": "reversed_out",
                "lane": self.settings.lane,
                "plate": plate,
                "direction": direction,
                "rule": rule.action.value,
                "upload": {"path": "/v1/parking/reversals", "body": upload},
            },
        )
        self.gate.send("/v1/parking/reversals", upload, int(_seq(entry)))
        return [
            Event(self.settings.lane, "reversed_out", plate, f"backed out ({rule.action.value})")
        ]

    def manual_open(self, *, guard: str, reason: str) -> list[Event]:
        reason = reason.strip()
        if not reason or not guard.strip():
            return [Event(self.settings.lane, "refused", None, "a manual open needs a reason")]
        record = {"manual": True, "guard": guard, "reason": reason, "lane": self.settings.lane}
        record["at"] = self.gate.wall().isoformat()
        self.pending = None
        self.triggered_at, self.triggered_real = 0.0, None
        return self._open_for(record, None, None, time.monotonic(), None)


class GateController:
    """The gate: its lanes, the board they share, the fire alarm, the journal, the uplink."""

    def __init__(
        self,
        *,
        terminal_id: str,
        board: Board,
        reader: Reader,
        book: ParkingBook,
        journal: Journal,
        uplink: Uplink | None = None,
        payments: PaymentProvider | None = None,
        fire_input: int = 4,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.terminal_id = terminal_id
        self.board = board
        self.reader = reader
        self.book = book
        self.journal = journal
        self.uplink = uplink
        self.payments = payments
        self.fire_input = fire_input
        self.wall = wall
        self.lanes: dict[str, Lane] = {}
        self.fire_alarm = False
        self.online = uplink is not None
        self.unsent: list[tuple[str, dict[str, Any], int]] = []

    def add_lane(self, settings: LaneSettings, camera: Camera) -> Lane:
        lane = Lane(settings, self, camera)
        self.lanes[settings.lane] = lane
        return lane

    def journal_note(self, lane: Lane, event: str, body: dict[str, Any]) -> None:
        self.journal.append("note", {"event": event, "lane": lane.settings.lane, **body})

    def send(self, path: str, body: dict[str, Any], seq: int) -> None:
        """Offer a decision to the server, in journal order: behind any still waiting."""
        self.unsent.append((path, body, seq))
        self.resend()

    def resend(self) -> int:
        """Deliver waiting decisions in order under their journal keys (``<terminal>:<seq>``);
        stops at the first the server cannot take now. The journal remembers how far the
        server has them (``parking_uplink_seq``), so a restarted gate resumes there."""
        if self.uplink is None:
            return 0
        sent = 0
        while self.unsent:
            path, body, seq = self.unsent[0]
            if self.uplink.submit(path, body, f"{self.terminal_id}:{seq}") is None:
                self.online = False
                return sent
            self.unsent.pop(0)
            sent += 1
            set_meta = getattr(self.journal, "set_meta", None)
            if set_meta is not None:
                set_meta(UPLINK_CURSOR, str(seq))
        self.online = True
        return sent

    def recover(self) -> int:
        """After a restart: queue the journalled decisions the server does not have yet."""
        meta = getattr(self.journal, "meta", None)
        entries = getattr(self.journal, "entries", None)
        if meta is None or entries is None:
            return 0
        cursor = int(meta(UPLINK_CURSOR) or 0)
        queued = {seq for _, _, seq in self.unsent}
        for entry in entries(after=cursor):
            upload = entry.body.get("upload")
            if upload and entry.seq not in queued:
                self.unsent.append((upload["path"], upload["body"], entry.seq))
        return len(self.unsent)

    def step(self, now: float | None = None) -> list[Event]:
        now = time.monotonic() if now is None else now
        inputs = self.board.read_raw_inputs()

        def on(terminal: int) -> bool:
            return 0 < terminal <= len(inputs) and inputs[terminal - 1]

        events: list[Event] = []
        fire = on(self.fire_input)
        if fire and not self.fire_alarm:
            self.fire_alarm = True
            for lane in self.lanes.values():
                lane.raise_arm()
                lane.state, lane.opened_for, lane.watch_tailgate = State.FIRE, None, False
            self.journal.append("note", {"event": "fire_alarm", "at": self.wall().isoformat()})
            events.append(Event("*", "fire", None, "fire alarm: every arm raised"))
        elif not fire and self.fire_alarm:
            self.fire_alarm = False
            self.journal.append(
                "note", {"event": "fire_alarm_cleared", "at": self.wall().isoformat()}
            )
            for lane in self.lanes.values():
                lane.state, lane.cleared_at = State.OPEN, now
            events.append(Event("*", "fire_cleared"))
        for lane in self.lanes.values():
            events.extend(
                lane.step(on(lane.settings.loop_input), now, on(lane.settings.passage_input))
            )
        return events
