"""The turnstile through its readers and relay board (simulators on ptys), and its journal."""

from __future__ import annotations

import time
from datetime import timedelta

from gate.turnstile.authoriser import Credential
from tests.gate.turnstile.conftest import QR_A, QR_C, UID_B, UID_REVOKED, Rig


def test_qr_entry_charged_after_the_passage(rig: Rig) -> None:
    rig.relay_sim.walk(1)
    rig.qr_sim.scan(QR_A)
    outcome = rig.until_outcome()
    assert (outcome.allowed, outcome.passed, outcome.amount) == (True, True, 1500)
    assert outcome.open_latency_s is not None
    assert outcome.open_latency_s < 0.3
    assert rig.journal.kinds() == ["gate_open", "charge"]
    _, body = rig.journal.entries[1]
    # The charge entry is exactly a ledger charge request.
    assert body == {
        "unit": "A-0101",
        "wallet": "services",
        "amount": 1500,
        "currency": "CNY",
        "service": "facility.gym",
        "memo": "Gym entry",
    }
    on_off = [(relay, on) for _, relay, on in rig.relay_sim.relay_log]
    assert on_off == [(1, True), (1, False)]


def test_nobody_passed_means_no_charge(rig: Rig) -> None:
    rig.qr_sim.scan(QR_A)  # nobody pushes the arm
    outcome = rig.until_outcome()
    assert (outcome.allowed, outcome.passed) == (True, False)
    assert rig.journal.kinds() == ["gate_open", "note"]
    assert rig.journal.charged() == 0
    assert rig.relay_sim.coils[0] is False  # the arm is locked again


def test_refusals_say_why(rig: Rig) -> None:
    rig.uid_sim.tap(UID_REVOKED)
    assert rig.until_outcome().reason == "card_revoked"
    rig.uid_sim.tap("0F0F0F0F0F")  # never issued
    assert rig.until_outcome().reason == "card_revoked"
    rig.clock[0] = rig.clock[0].replace(hour=23)
    rig.qr_sim.scan(QR_A)
    closed = rig.until_outcome()
    assert (closed.reason, closed.message) == ("closed_now", "Closed now: see the opening hours")
    assert rig.journal.kinds() == ["entry_refused"] * 3
    assert rig.relay_sim.relay_log == []  # the arm never moved


def test_no_money(rig: Rig) -> None:
    from tests.gate.turnstile.conftest import snapshot

    rig.authoriser.load(snapshot({"A-0101": 1400}))
    rig.qr_sim.scan(QR_A)
    assert rig.until_outcome().reason == "no_money"


def test_pass_and_anti_passback(rig: Rig) -> None:
    rig.relay_sim.walk(2)
    rig.qr_sim.scan(QR_C)
    first = rig.until_outcome()
    assert (first.passed, first.method, first.amount) == (True, "pass", 0)
    time.sleep(0.25)  # past the scanner's repeat window: a new presentation
    rig.qr_sim.scan(QR_C)  # the same pass handed back through the bars
    second = rig.until_outcome()
    assert second.reason == "anti_passback"
    assert rig.controller.leave(Credential("qr", QR_C))  # shown at the exit reader
    time.sleep(0.25)
    rig.qr_sim.scan(QR_C)
    assert rig.until_outcome().passed
    assert rig.journal.kinds() == [
        "gate_open",
        "pass_use",
        "entry_refused",
        "note",  # the exit
        "gate_open",
        "pass_use",
    ]


def test_low_assurance_card_is_capped(rig: Rig) -> None:
    rig.relay_sim.walk(3)
    results = []
    for _ in range(3):
        rig.uid_sim.tap(UID_B)
        results.append(rig.until_outcome())
        rig.clock[0] += timedelta(minutes=30)
        time.sleep(0.25)
    # The daily cap is 30.00: two entries at 15.00, the third refused.
    assert [r.reason for r in results] == [None, None, "low_assurance_over_cap"]
    assert rig.journal.charged() == 3000


def test_fire_alarm_opens_and_holds(rig: Rig) -> None:
    rig.relay_sim.fire_alarm(True)
    rig.app.step()
    assert rig.controller.fire_alarm
    assert all(rig.relay_sim.coils)
    rig.qr_sim.scan(QR_A)
    outcome = rig.until_outcome()
    assert (outcome.allowed, outcome.amount) == (True, 0)  # nobody is charged in a fire
    rig.relay_sim.fire_alarm(False)
    for _ in range(10):
        rig.app.step()
    assert not rig.controller.fire_alarm
    assert not any(rig.relay_sim.coils)
    assert [k for k, _ in rig.journal.entries] == ["gate_open", "note"]
    assert rig.journal.entries[0][1]["reason"] == "fire_alarm"


def test_offline_within_the_limits(rig: Rig) -> None:
    rig.authoriser.mark_offline()
    rig.relay_sim.walk(4)
    outcomes = []
    for _ in range(3):
        rig.qr_sim.scan(QR_A)
        outcomes.append(rig.until_outcome())
        time.sleep(0.25)
    # Per credential per day offline: 30.00; two entries of 15.00, then refused.
    assert [o.passed for o in outcomes] == [True, True, False]
    assert outcomes[2].reason == "no_money"
    # Another household, same terminal: the terminal's total (40.00) leaves 10.00.
    rig.uid_sim.tap(UID_B)
    assert rig.until_outcome().reason == "no_money"
    assert rig.journal.charged() == 3000
    # Back online with a snapshot that already counts the synced charges.
    from tests.gate.turnstile.conftest import snapshot

    rig.authoriser.load(snapshot({"A-0101": 7000, "A-0102": 10_000}))
    time.sleep(0.25)  # past the reader's repeat window
    rig.uid_sim.tap(UID_B)
    assert rig.until_outcome().passed


def test_a_board_failure_mid_entry_charges_nothing(rig: Rig) -> None:
    rig.relay_sim.fail(10)  # exception 04 to every request from now on
    rig.qr_sim.scan(QR_A)
    outcome = rig.until_outcome()
    assert (outcome.allowed, outcome.passed, outcome.reason) == (False, False, "device_failure")
    assert rig.journal.kinds() == ["gate_open", "note"]
    assert rig.journal.entries[1][1]["event"] == "relay_failed"
    assert rig.journal.charged() == 0


def test_a_per_minute_facility_is_no_turnstile(rig: Rig) -> None:
    from dataclasses import replace
    from decimal import Decimal

    import pytest

    from domain.facilities import PerMinute, Pricing
    from gate.turnstile.controller import TurnstileController

    washer = replace(
        rig.controller.facility,
        pricing=Pricing.PER_MINUTE,
        per_minute=PerMinute(Decimal("0.25"), max_minutes=90),
    )
    settings = replace(rig.controller.settings, facility=washer)
    with pytest.raises(ValueError, match="per minute"):
        TurnstileController(
            settings, board=rig.board, journal=rig.journal, authoriser=rig.authoriser
        )


def test_card_source_assurance() -> None:
    from dataclasses import dataclass

    from gate.turnstile.sources import CardSource

    @dataclass
    class Reading:
        uid_hex: str
        card_number: str | None

    class Reader:
        def __init__(self) -> None:
            self.readings = [Reading("04A1B2C3", "1001"), Reading("0A0B0C0D", None)]

        def wait_for_tap(self, timeout: float) -> Reading | None:
            return self.readings.pop(0) if self.readings else None

        def close(self) -> None:
            pass

    source = CardSource(Reader())
    genuine, uid_only, nothing = source.read(0), source.read(0), source.read(0)
    assert genuine is not None
    assert uid_only is not None
    assert (genuine.credential.kind, genuine.credential.value) == ("card", "1001")
    assert not genuine.credential.low_assurance
    assert (uid_only.credential.value, uid_only.credential.low_assurance) == ("0A0B0C0D", True)
    assert nothing is None


def test_residents_signed_qr_tokens(rig: Rig) -> None:
    from kiosk.tokens import QrTokenVerifier, make_qr_token

    key = b"estate qr key"
    rig.controller.qr_verifier = QrTokenVerifier(key).verify
    now = int(rig.clock[0].timestamp())
    good = make_qr_token(key, "A-0101", now + 60)
    rig.relay_sim.walk(1)
    rig.qr_sim.scan(good)
    entered = rig.until_outcome()
    assert (entered.passed, entered.unit, entered.amount) == (True, "A-0101", 1500)
    for token in (
        good,  # a screenshot of the same token: replayed
        make_qr_token(key, "A-0101", now - 1),  # expired
        make_qr_token(b"another key", "A-0101", now + 60),  # forged
    ):
        time.sleep(0.25)
        rig.qr_sim.scan(token)
        refused = rig.until_outcome()
        assert (refused.allowed, refused.reason) == (False, "qr_invalid")
    assert rig.journal.kinds() == ["gate_open", "charge"] + ["entry_refused"] * 3


def test_a_visits_pass_runs_out_then_the_price_applies(rig: Rig) -> None:
    from tests.gate.turnstile.conftest import snapshot

    data = snapshot()
    data["passes"]["p-ten"] = {
        "unit": "A-0101",
        "facility": "gym",
        "valid_from": "2026-11-01",
        "valid_until": "2026-12-31",
        "visits_left": 1,
    }
    rig.authoriser.load(data)
    rig.relay_sim.walk(2)
    rig.qr_sim.scan(QR_A)
    first = rig.until_outcome()
    assert (first.passed, first.method, first.amount) == (True, "pass", 0)
    assert rig.controller.leave(Credential("qr", QR_A))
    time.sleep(0.25)
    rig.qr_sim.scan(QR_A)
    second = rig.until_outcome()
    # The pass's one visit is used (here, not yet in the snapshot): pay per use.
    assert (second.passed, second.method, second.amount) == (True, "charge", 1500)


def test_prices_follow_the_snapshot(rig: Rig) -> None:
    from tests.gate.turnstile.conftest import snapshot

    data = snapshot()
    # As central/journal/snapshot.py sends them to turnstiles.
    data["tariffs"] = {
        "gym": {
            "kind": "gym",
            "pricing": "per_use",
            "price": "20.00",
            "rate_per_minute": None,
            "max_minutes": None,
            "minimum_minutes": 1,
            "hours": {"mon-sun": ["06:00-22:00"]},
            "allow_low_assurance": True,
        },
        "washer-1": {"pricing": "per_minute", "price": "0"},
    }
    rig.authoriser.load(data)
    rig.relay_sim.walk(1)
    rig.qr_sim.scan(QR_A)
    assert rig.until_outcome().amount == 2000
    # A price that would make the turnstile a per-minute machine is not taken.
    data["tariffs"]["gym"]["pricing"] = "per_minute"
    rig.authoriser.load(dict(data))
    assert rig.controller.facility.price == rig.controller.settings.facility.price
