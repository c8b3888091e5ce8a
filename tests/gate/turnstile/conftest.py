"""A turnstile wired to simulated devices over real ptys, with a list journal."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain import journal as dj
from domain.facilities import Facility, FacilityKind, OpeningHours, Pricing
from gate.turnstile.app import TurnstileApp
from gate.turnstile.authoriser import Authoriser, normalise
from gate.turnstile.controller import TurnstileController, TurnstileSettings
from gate.turnstile.sources import QrSource, UidSource
from terminal_drivers.qr_scanner.serial_scanner import SerialQrScanner
from terminal_drivers.qr_scanner.simulator import QrScannerSimulator
from terminal_drivers.relay_board.device import RelayBoard
from terminal_drivers.relay_board.simulator import RelayBoardSimulator
from terminal_drivers.transport import open_transport
from terminal_drivers.uid_reader.device import UidReader
from terminal_drivers.uid_reader.simulator import UidReaderSimulator
from tests.terminal_drivers.support import no_leaked_threads

__all__ = ["no_leaked_threads"]

ZONE = ZoneInfo("Asia/Shanghai")
WEDNESDAY_10AM = datetime(2026, 11, 25, 10, 0, tzinfo=ZONE)
HASH_KEY = "11" * 32
QR_A = "PP1.token-of-A-0101"  # a resident's QR token (verification: see README)
UID_B = "0100070C7F"  # a 125 kHz fob of A-0102
QR_C = "PP1.token-of-B-0101"  # B-0101 holds a monthly pass
UID_REVOKED = "0A0B0C0D0E"

GYM = Facility(
    "gym",
    "Gym",
    FacilityKind.GYM,
    Pricing.PER_USE,
    OpeningHours.parse({"mon-sun": ["06:00-22:00"]}),
    price=Decimal("15"),
    low_assurance_daily_cap=3000,
)


def snapshot(balances: dict[str, int] | None = None) -> dict[str, Any]:
    h = dj.credential_hash
    return {
        "hash_key": HASH_KEY,
        "currency": "CNY",
        "credentials": {
            h(HASH_KEY, "qr", normalise(QR_A)): {"unit": "A-0101", "kind": "qr"},
            h(HASH_KEY, "card", normalise(UID_B)): {"unit": "A-0102", "kind": "card"},
            h(HASH_KEY, "qr", normalise(QR_C)): {"unit": "B-0101", "kind": "qr"},
        },
        "revoked": [h(HASH_KEY, "card", normalise(UID_REVOKED))],
        "balances": {
            unit: {"services": amount}
            for unit, amount in (balances or {"A-0101": 10_000, "A-0102": 10_000}).items()
        },
        # As the server's snapshot lists them (central/journal/snapshot.py): by pass id.
        "passes": {
            "p-old": {
                "unit": "B-0101",
                "facility": "gym",
                "valid_from": "2026-10-01",
                "valid_until": "2026-10-31",
                "visits_left": None,
            },
            "p-month": {
                "unit": "B-0101",
                "facility": "gym",
                "valid_from": "2026-11-01",
                "valid_until": "2026-11-30",
                "visits_left": None,
            },
            "p-pool": {
                "unit": "A-0101",
                "facility": "pool",
                "valid_from": "2026-11-01",
                "valid_until": "2026-11-30",
                "visits_left": 5,
            },
        },
        "offline_limits": {
            "per_transaction": 2_000,
            "per_credential_per_day": 3_000,
            "per_terminal": 4_000,
        },
    }


@dataclass
class ListJournal:
    """The journal's contract for these tests: append in order, nothing lost."""

    entries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def append(self, kind: str, body: dict[str, Any]) -> int:
        self.entries.append((kind, dict(body)))
        return len(self.entries)

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.entries]

    def charged(self) -> int:
        return sum(body["amount"] for kind, body in self.entries if kind == "charge")


@dataclass
class Rig:
    relay_sim: RelayBoardSimulator
    uid_sim: UidReaderSimulator
    qr_sim: QrScannerSimulator
    board: RelayBoard
    journal: ListJournal
    authoriser: Authoriser
    controller: TurnstileController
    app: TurnstileApp
    clock: list[datetime]

    def until_outcome(self, rounds: int = 200) -> Any:
        for _ in range(rounds):
            outcomes = self.app.step()
            if outcomes:
                return outcomes[0]
        raise AssertionError("no credential reached the turnstile")


@pytest.fixture
def rig(no_leaked_threads: None) -> Iterator[Rig]:
    relay_sim, uid_sim, qr_sim = RelayBoardSimulator(), UidReaderSimulator(), QrScannerSimulator()
    for sim in (relay_sim, uid_sim, qr_sim):
        sim.start()
    board = RelayBoard(open_transport(relay_sim.endpoint), reply_timeout=0.1)
    uid = UidReader(open_transport(uid_sim.endpoint), repeat_window=0.2)
    qr = SerialQrScanner(open_transport(qr_sim.endpoint), repeat_window=0.2)
    journal = ListJournal()
    authoriser = Authoriser(snapshot(), facility="gym", passback_timeout_s=3600)
    clock = [WEDNESDAY_10AM]
    settings = TurnstileSettings(
        terminal_id="turnstile-gym-1", facility=GYM, pulse_s=0.05, passage_timeout_s=0.6
    )
    controller = TurnstileController(
        settings, board=board, journal=journal, authoriser=authoriser, now=lambda: clock[0]
    )
    app = TurnstileApp(controller, [UidSource(uid), QrSource(qr)], fire_poll_s=0.05)
    yield Rig(relay_sim, uid_sim, qr_sim, board, journal, authoriser, controller, app, clock)
    app.close()
    board.close()
    for sim in (relay_sim, uid_sim, qr_sim):
        sim.stop()
