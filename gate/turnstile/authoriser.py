"""Who is at the turnstile, and what they may spend: the snapshot minus what was spent here.

The snapshot is the one the server builds for a terminal (``central/journal/
snapshot.py``, issue 6): credentials as keyed hashes mapped to units, revoked
hashes, each unit's available ``services`` money, the offline limits. This
module adds what the turnstile itself has done since that snapshot (charges not
yet reflected in it), and the state only a turnstile keeps: which passes are
inside (anti-passback) and what low-assurance cards spent today.

Online (a snapshot fresher than ``max_age_s``) the balance is the snapshot's
minus the unsynced spending. Offline, the design's limits apply on top: per
transaction, per credential per day, and in total for the terminal since it
went offline.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from domain import journal as dj
from domain.facilities import PassState, Refusal, pass_refusal


@dataclass(frozen=True)
class Credential:
    """What a reader produced: its kind (``card``, ``uid``, ``qr``) and value."""

    kind: str
    value: str
    low_assurance: bool = False
    # Set when the credential names its unit itself (a verified QR token).
    unit: str | None = None


@dataclass(frozen=True)
class Holder:
    unit: str
    credential_hash: str
    low_assurance: bool
    available: int  # what may be spent now (offline limits applied)
    pass_state: PassState | None
    inside: bool  # anti-passback: this pass entered and has not left
    spent_today_low_assurance: int


@dataclass
class OfflineLimits:
    per_transaction: int = 20_000
    per_credential_per_day: int = 50_000
    per_terminal: int = 500_000

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> OfflineLimits:
        return cls(**{k: int(v) for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class _Spending:
    by_unit: dict[str, int] = field(default_factory=dict)  # not yet in the snapshot
    by_credential_day: dict[tuple[str, date], int] = field(default_factory=dict)
    low_assurance_day: dict[tuple[str, date], int] = field(default_factory=dict)
    offline_total: int = 0


# The server's credential kinds (card | plate | qr) for what each reader gives: a
# 125 kHz UID is registered as a card whose value is its UID.
KIND_OF_READER: dict[str, str] = {"card": "card", "uid": "card", "qr": "qr"}


def normalise(value: str) -> str:
    """A credential's value as the registry keeps it (and hashes it for snapshots):
    without spaces, dashes, dots or case (``central.estate.registry.normalise_credential``)."""
    return re.sub(r"[\s\-·.]", "", value).upper()


class Authoriser:
    def __init__(
        self,
        snapshot: dict[str, Any],
        *,
        facility: str,
        passback_timeout_s: float = 7200.0,
        max_age_s: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.facility = facility
        self.passback_timeout_s = passback_timeout_s
        self.max_age_s = max_age_s
        self.clock = clock
        self._spent = _Spending()
        self._inside: dict[str, float] = {}  # pass holder's credential hash -> entered at
        self._visits_used: dict[str, int] = {}  # visits used here, not yet in the snapshot
        self.snapshot: dict[str, Any] = {}
        self.snapshot_at = -1e18
        self.load(snapshot)

    # -- the snapshot ------------------------------------------------------------------
    def load(self, snapshot: dict[str, Any], *, synced: bool = True) -> None:
        """A fresh snapshot from the server. ``synced``: every entry of this journal
        was uploaded before it was built, so its balances already count them."""
        self.snapshot = snapshot
        self.snapshot_at = self.clock()
        if synced:
            self._spent.by_unit.clear()
            self._spent.offline_total = 0
            self._visits_used.clear()

    @property
    def online(self) -> bool:
        return self.clock() - self.snapshot_at <= self.max_age_s

    def mark_offline(self) -> None:
        self.snapshot_at = -1e18

    @property
    def limits(self) -> OfflineLimits:
        return OfflineLimits.from_snapshot(self.snapshot.get("offline_limits", {}))

    def credential_hash(self, credential: Credential) -> str:
        kind = KIND_OF_READER.get(credential.kind, credential.kind)
        return dj.credential_hash(self.snapshot["hash_key"], kind, normalise(credential.value))

    # -- looking someone up ---------------------------------------------------------------
    def identify(self, credential: Credential, today: date) -> Holder | Refusal:
        digest = self.credential_hash(credential)
        if credential.unit is not None:
            unit = credential.unit  # its signature already said which unit
        else:
            if digest in set(self.snapshot.get("revoked", ())):
                return Refusal.CARD_REVOKED
            known = self.snapshot.get("credentials", {}).get(digest)
            if known is None:
                # Unknown here is treated as revoked: a card the estate never issued
                # (or revoked before the snapshot began) is not let in.
                return Refusal.CARD_REVOKED
            unit = str(known["unit"])
        balance = int(self.snapshot.get("balances", {}).get(unit, {}).get("services", 0))
        available = balance - self._spent.by_unit.get(unit, 0)
        if not self.online:
            limits = self.limits
            used_today = self._spent.by_credential_day.get((digest, today), 0)
            available = min(
                available,
                limits.per_transaction,
                limits.per_credential_per_day - used_today,
                limits.per_terminal - self._spent.offline_total,
            )
        entered = self._inside.get(digest)
        inside = entered is not None and self.clock() - entered < self.passback_timeout_s
        return Holder(
            unit=unit,
            credential_hash=digest,
            low_assurance=credential.low_assurance,
            available=max(available, 0),
            pass_state=self._pass_of(unit, today),
            inside=inside,
            spent_today_low_assurance=self._spent.low_assurance_day.get((digest, today), 0),
        )

    def _pass_of(self, unit: str, today: date) -> PassState | None:
        """The unit's pass here: a usable one (ending first) if any, else the latest.

        The server's snapshot lists passes by id (``passes``: unit, facility, dates,
        visits left); ``facility_passes`` (unit -> facility -> pass) is read too.
        """
        found: list[dict[str, Any]] = [
            p
            for p in self.snapshot.get("passes", {}).values()
            if isinstance(p, dict) and p.get("unit") == unit and p.get("facility") == self.facility
        ]
        legacy = self.snapshot.get("facility_passes", {}).get(unit, {}).get(self.facility)
        if legacy is not None:
            found.append(legacy)
        states = []
        used = self._visits_used.get(unit, 0)
        for raw in sorted(found, key=lambda p: str(p["valid_until"])):
            visits = raw.get("visits_left")
            states.append(
                PassState(
                    date.fromisoformat(str(raw["valid_from"])),
                    date.fromisoformat(str(raw["valid_until"])),
                    None if visits is None else int(visits),
                )
            )
        usable = [s for s in states if pass_refusal(s, today) is None]
        if usable and used:
            # Visits used here since the snapshot: off the pass that would have served them.
            first = usable[0]
            if first.visits_left is not None:
                usable[0] = PassState(first.valid_from, first.valid_until, first.visits_left - used)
                if pass_refusal(usable[0], today) is not None:
                    usable = usable[1:] or [usable[0]]
        if usable:
            return usable[0]
        return states[-1] if states else None

    # -- what happened ---------------------------------------------------------------------
    def charged(self, holder: Holder, amount: int, today: date) -> None:
        spent = self._spent
        spent.by_unit[holder.unit] = spent.by_unit.get(holder.unit, 0) + amount
        key = (holder.credential_hash, today)
        spent.by_credential_day[key] = spent.by_credential_day.get(key, 0) + amount
        if holder.low_assurance:
            spent.low_assurance_day[key] = spent.low_assurance_day.get(key, 0) + amount
        if not self.online:
            spent.offline_total += amount

    def pass_used(self, holder: Holder) -> None:
        self._inside[holder.credential_hash] = self.clock()
        if holder.pass_state is not None and holder.pass_state.visits_left is not None:
            used = self._visits_used
            used[holder.unit] = used.get(holder.unit, 0) + 1

    def left(self, credential: Credential) -> bool:
        """An exit: the pass may enter again."""
        return self._inside.pop(self.credential_hash(credential), None) is not None
