"""The gate's parking book: who may enter, what a stay costs, decided from the snapshot.

The same rules as the server (``central.parking.service`` and ``dues``), over
the snapshot the gate pulled (``central.parking.snapshot``): the estate's plates
and the units they belong to, the passes, the parking wallets' available money,
the tariffs with their versions and the manager's rules. So the gate decides the
same online and offline, and every decision carries the tariff version it priced
with, which the server honours.

Only an exact read opens for a pass or a resident; a fuzzy read may close a
session at the exit (DESIGN.md, "Credentials"). A pass lets one car in at a
time (anti-passback).

Plates travel as keyed hashes (``domain.journal.credential_hash`` under the
snapshot's ``hash_key``), never in clear, so a read is hashed to be looked up;
a read one edit away from a registered plate is found by hashing its one-edit
variants (about a thousand HMACs, a millisecond). Snapshot layout (what
``GET /v1/parking/snapshot`` answers)::

    {"hash_key": "…64 hex…",
     "plates": {"<hash>": {"unit": "A-0101"}},
     "passes": [{"id": "...", "unit": "A-0101", "plate_hash": null,
                 "valid_from": "2026-11-01", "valid_until": "2026-11-30"}],
     "wallets": {"A-0101": 10000},
     "tariffs": {"resident": {...spec...}, "visitor": {...spec...}},
     "rules": {"exit_without_entry": {"action": "review", "maximum": 0}, ...},
     "timezone": "Asia/Shanghai"}
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain import journal as dj
from domain import parking as dp
from domain.parking import DEFAULT_RULES, Rule, RuleAction, Situation, TariffKind
from lpr.matching import MatchKind, PlateRegistry
from lpr.regions import CN_PROVINCES, DIGITS, LETTERS, normalise

VARIANT_ALPHABET = LETTERS + DIGITS + CN_PROVINCES
# Tickets avoid the look-alikes (0/O, 1/I) a guard might mistype.
TICKET_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass
class Stay:
    plate: str
    kind: str  # pass | resident | visitor
    unit: str | None
    pass_id: str | None
    entered_at: datetime
    lane: str
    paid_at: datetime | None = None  # paid in advance: the grace period runs from here


@dataclass(frozen=True)
class EntryDecision:
    allowed: bool
    plate: str
    kind: str | None = None  # pass | resident | visitor
    unit: str | None = None
    pass_id: str | None = None
    reason: str | None = None  # not_exact | ...
    already_inside: bool = False


@dataclass(frozen=True)
class ExitDecision:
    plate: str  # the plate of the session closed (the read itself when there is none)
    match: str  # exact | fuzzy | none
    kind: str  # pass | resident | visitor
    unit: str | None
    due: int  # minor units
    tariff_version: str | None
    pay_by: str | None  # wallet | pass | free | None: the driver must pay
    situation: str | None = None  # exit_without_entry, pass_expired_mid_stay
    review: bool = False


class ParkingBook:
    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.inside: dict[str, Stay] = {}
        # Visitors let in on a QR ticket after a read that could not be trusted.
        self.tickets: dict[str, Stay] = {}
        self.load(snapshot)

    def load(self, snapshot: dict[str, Any]) -> None:
        self.zone = ZoneInfo(str(snapshot.get("timezone", "Asia/Shanghai")))
        self.currency = str(snapshot.get("currency", "CNY"))
        # A snapshot from the server carries its key and hashed plates; plates in clear
        # (a test's, a demo's) are hashed here under a key of our own.
        self.hash_key = str(
            snapshot.get("hash_key") or getattr(self, "hash_key", "") or secrets.token_hex(32)
        )
        hashed = "hash_key" in snapshot
        self.plates: dict[str, dict[str, Any]] = {
            (p if hashed else self.digest(p)): dict(v)
            for p, v in snapshot.get("plates", {}).items()
        }
        self.passes: list[dict[str, Any]] = [
            {
                **p,
                "plate_hash": p.get("plate_hash")
                or (self.digest(p["plate"]) if p.get("plate") else None),
            }
            for p in snapshot.get("passes", [])
        ]
        self.wallets: dict[str, int] = {u: int(v) for u, v in snapshot.get("wallets", {}).items()}
        self.tariffs = {
            TariffKind(kind): dp.tariff_from_spec(spec)
            for kind, spec in snapshot.get("tariffs", {}).items()
        }
        # Stays paid in advance (a kiosk, the phone): the grace period runs from then.
        for digest, when in snapshot.get("paid", {}).items():
            paid_at = datetime.fromisoformat(when)
            for stay in [*self.inside.values(), *self.tickets.values()]:
                if self.digest(stay.plate) == digest and (
                    stay.paid_at is None or stay.paid_at < paid_at
                ):
                    stay.paid_at = paid_at
        self.rules: dict[Situation, Rule] = dict(DEFAULT_RULES)
        for name, body in snapshot.get("rules", {}).items():
            situation = Situation(name)
            self.rules[situation] = Rule(
                situation, RuleAction(body["action"]), int(body.get("maximum", 0))
            )

    def digest(self, plate: str) -> str:
        return dj.credential_hash(self.hash_key, "plate", normalise(plate))

    def owner(self, plate: str) -> str | None:
        found = self.plates.get(self.digest(plate))
        return None if found is None else str(found["unit"])

    def match(self, read: str) -> MatchKind:
        """EXACT for a registered plate, FUZZY for a read one edit away from one, else NONE."""
        text = normalise(read)
        if self.digest(text) in self.plates:
            return MatchKind.EXACT
        for variant in _one_edit(text):
            if self.digest(variant) in self.plates:
                return MatchKind.FUZZY
        return MatchKind.NONE

    # -- entries -------------------------------------------------------------------------

    def _usable_pass(self, unit: str, plate: str, day: date) -> str | None:
        held = {s.pass_id for s in self.inside.values() if s.pass_id}
        candidates = sorted(
            (
                p
                for p in self.passes
                if p["unit"] == unit and p["plate_hash"] in (None, self.digest(plate))
            ),
            key=lambda p: (p["plate_hash"] is None, p["valid_until"]),
        )
        for p in candidates:
            valid = dp.pass_valid(
                date.fromisoformat(p["valid_from"]), date.fromisoformat(p["valid_until"]), day
            )
            if valid and p["id"] not in held:
                return str(p["id"])
        return None

    def enter(self, read: str, match: MatchKind, at: datetime, lane: str) -> EntryDecision:
        """Decide an entry. Only an exact read of a registered plate opens for a pass or a
        resident; any exact read may enter as a visitor, priced at the exit."""
        plate = normalise(read)
        if match is not MatchKind.EXACT:
            return EntryDecision(False, plate, reason="not_exact")
        again = plate in self.inside
        unit = self.owner(plate)
        if again:
            del self.inside[plate]  # the rule's review or maximum is settled by the server
        day = at.astimezone(self.zone).date()
        pass_id = None if unit is None else self._usable_pass(unit, plate, day)
        kind = "pass" if pass_id else "resident" if unit else "visitor"
        self.inside[plate] = Stay(plate, kind, unit, pass_id, at, lane)
        return EntryDecision(True, plate, kind, unit, pass_id, already_inside=again)

    # -- exits ---------------------------------------------------------------------------

    def find_inside(self, read: str) -> tuple[Stay | None, str]:
        """The stay a read at the exit belongs to: exact, or one car inside within an edit."""
        plate = normalise(read)
        if plate in self.inside:
            return self.inside[plate], "exact"
        found = PlateRegistry(self.inside).match(plate)
        if found.kind is MatchKind.FUZZY and found.plate is not None:
            return self.inside[found.plate], "fuzzy"
        return None, "none"

    def _pass_ends(self, pass_id: str) -> datetime:
        until = next(p["valid_until"] for p in self.passes if p["id"] == pass_id)
        return datetime.combine(
            date.fromisoformat(until) + timedelta(days=1), time(0), tzinfo=self.zone
        )

    def exit(self, read: str, at: datetime) -> ExitDecision:
        """What the car at the exit owes and how it pays; nothing changes until ``settle``."""
        stay, how = self.find_inside(read)
        if stay is None:
            plate = normalise(read)
            rule = self.rules[Situation.EXIT_WITHOUT_ENTRY]
            due = rule.maximum if rule.action is RuleAction.CHARGE_MAXIMUM else 0
            unit = self.owner(plate)
            return ExitDecision(
                plate,
                "none",
                "resident" if unit else "visitor",
                unit,
                due,
                None,
                self._pay_by(unit, due),
                situation=Situation.EXIT_WITHOUT_ENTRY.value,
                review=rule.action is RuleAction.REVIEW,
            )
        kind = TariffKind.VISITOR if stay.kind == "visitor" else TariffKind.RESIDENT
        tariff = self.tariffs[kind]
        review = False
        situation = None
        if stay.kind == "pass" and stay.pass_id is not None:
            due, review = dp.due_after_pass(
                tariff,
                stay.entered_at,
                self._pass_ends(stay.pass_id),
                at,
                self.zone,
                self.rules[Situation.PASS_EXPIRED_MID_STAY],
            )
            if due or review:
                situation = Situation.PASS_EXPIRED_MID_STAY.value
        else:
            due = dp.due_at_exit(tariff, stay.entered_at, stay.paid_at, at, self.zone).amount
        pay_by = "pass" if stay.kind == "pass" and due == 0 else self._pay_by(stay.unit, due)
        return ExitDecision(
            stay.plate, how, stay.kind, stay.unit, due, tariff.version, pay_by, situation, review
        )

    def _pay_by(self, unit: str | None, due: int) -> str | None:
        if due == 0:
            return "free"
        if unit is not None and self.wallets.get(unit, 0) >= due:
            return "wallet"
        return None

    def settle(self, decision: ExitDecision, paid_by: str) -> Stay | None:
        """The car leaves: close its stay and spend the wallet's money in the local view."""
        stay = self.inside.pop(decision.plate, None) or self.tickets.pop(decision.plate, None)
        if paid_by == "wallet" and decision.unit is not None:
            self.wallets[decision.unit] = self.wallets.get(decision.unit, 0) - decision.due
        return stay

    def new_ticket(self, at: datetime, lane: str) -> str:
        """A ticket for a visitor whose plate could not be read: its code is the stay's key
        (and the plate the server knows the stay by)."""
        code = "T" + "".join(secrets.choice(TICKET_ALPHABET) for _ in range(9))
        self.tickets[code] = Stay(code, "visitor", None, None, at, lane)
        return code

    def exit_ticket(self, code: str, at: datetime) -> ExitDecision | None:
        """What the visitor holding ticket ``code`` owes; None for a ticket not issued here."""
        stay = self.tickets.get(code.strip().upper())
        if stay is None:
            return None
        tariff = self.tariffs[TariffKind.VISITOR]
        due = dp.due_at_exit(tariff, stay.entered_at, stay.paid_at, at, self.zone).amount
        return ExitDecision(
            stay.plate, "ticket", "visitor", None, due, tariff.version, self._pay_by(None, due)
        )

    def paid_in_advance(self, read: str, at: datetime) -> bool:
        stay, _ = self.find_inside(read)
        if stay is None:
            return False
        stay.paid_at = at
        return True


def _one_edit(text: str) -> set[str]:
    """Every text one substitution, deletion or insertion away from ``text``."""
    out: set[str] = set()
    for i in range(len(text) + 1):
        if i < len(text):
            out.add(text[:i] + text[i + 1 :])
            out.update(text[:i] + ch + text[i + 1 :] for ch in VARIANT_ALPHABET)
        out.update(text[:i] + ch + text[i:] for ch in VARIANT_ALPHABET)
    out.discard(text)
    return out
