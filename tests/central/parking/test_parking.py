"""Parking on the server: tariffs by version, passes and their renewal, sessions by plate,
anti-passback, fuzzy reads, the manager's rules, and a gate's price honoured after an outage.

Over HTTP where the clock does not matter; through ``central.parking`` with a fixed
``Context.now`` where it does (stays, renewal dates).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from central.db.database import Database
from central.db.schema import accounts
from central.estate import registry
from central.ledger.operations import Context
from central.metering.tables import notifications
from central.parking import dues, passes, renewal, review_cases, service, sessions, tariffs
from central.parking.tables import parking_passes, parking_sessions
from domain.parking import TariffKind
from tests.central.conftest import ESTATE

UNIT = "A-0101"
WALLET = f"wallet:{UNIT}:parking"
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def ctx(now: datetime, idem: str | None = None) -> Context:
    return Context(ESTATE, idem or uuid.uuid4().hex, "terminal:gate-1", "gate-1", now)


def top_up(client: TestClient, headers: dict[str, str], amount: int, unit: str = UNIT) -> None:
    body = {
        "unit": unit,
        "wallet": "parking",
        "amount": amount,
        "currency": "CNY",
        "method": "staff_desk",
    }
    answer = client.post("/v1/ledger/top-ups", json=body, headers={**headers, **key()})
    assert answer.status_code == 201, answer.text


def balance(db: Database, code: str = WALLET) -> int:
    with db.read() as conn:
        return int(
            conn.execute(select(accounts.c.balance).where(accounts.c.code == code)).scalar_one()
        )


def tariff(
    client: TestClient, headers: dict[str, str], kind: str, version: str, **extra: Any
) -> None:
    body = {"kind": kind, "version": version, "day_rate": "5", "free_minutes": 15, **extra}
    answer = client.post("/v1/parking/tariffs", json=body, headers={**headers, **key()})
    assert answer.status_code == 201, answer.text


def plates(db: Database, *values: str, unit: str = UNIT) -> None:
    with db.write() as conn:
        for value in values:
            registry.add_credential(conn, unit=unit, kind="plate", value=value)


def setup(client: TestClient, db: Database, manager: dict[str, str]) -> None:
    tariff(client, manager, "resident", "r1", effective_from="2026-01-01T00:00:00Z")
    tariff(client, manager, "visitor", "v1", effective_from="2026-01-01T00:00:00Z")
    plates(db, "沪A12345", "沪B77777")


def enter(db: Database, plate: str, at: datetime, **kw: Any) -> dict[str, Any]:
    with db.write() as conn:
        return service.enter(conn, ctx(at), plate=plate, at=at, **kw)


def leave(db: Database, plate: str, at: datetime, **kw: Any) -> dict[str, Any]:
    with db.write() as conn:
        return service.leave(conn, ctx(at), plate=plate, at=at, **kw)


def test_resident_without_pass_pays_from_the_wallet(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    setup(client, db, manager)
    top_up(client, manager, 10_000)
    entry = enter(db, "沪A 12345", T0, lane="in-1")
    assert entry["allowed"]
    assert entry["kind"] == "resident"
    assert entry["unit"] == UNIT
    out = leave(db, "沪A12345", T0 + timedelta(minutes=70), lane="out-1")
    assert out["allowed"]
    assert out["amount"] == 1000
    assert out["paid_by"] == "wallet"
    assert balance(db) == 9000


def test_a_wallet_that_cannot_pay_keeps_the_barrier_down(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    setup(client, db, manager)
    enter(db, "沪A12345", T0)
    out = leave(db, "沪A12345", T0 + timedelta(hours=2))
    assert not out["allowed"]
    assert out["reason"] == "insufficient_funds"
    assert out["due"] == 1000
    with db.read() as conn:
        assert [c["plate"] for c in sessions.cars_inside(conn)] == ["沪A12345"]


def test_visitor_pays_by_qr_and_the_provider_owes_the_estate(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    setup(client, db, manager)
    assert enter(db, "粤C99999", T0)["kind"] == "visitor"
    with db.read() as conn:
        due = dues.quote(conn, ctx(T0 + timedelta(minutes=50)), plate="粤C99999")
    assert due["due"] == 500
    unpaid = leave(db, "粤C99999", T0 + timedelta(minutes=50))
    assert not unpaid["allowed"]
    assert unpaid["reason"] == "payment_required"
    paid = leave(
        db, "粤C99999", T0 + timedelta(minutes=50), tariff_version="v1", amount=500, paid_by="qr"
    )
    assert paid["allowed"]
    assert paid["transaction_id"]
    assert balance(db, "clearing:sandbox") == -500
    assert balance(db, "revenue:parking") == 500


def test_fuzzy_read_never_opens_but_closes_a_session(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    setup(client, db, manager)
    top_up(client, manager, 10_000)
    pass_ = client.post(
        "/v1/parking/passes",
        json={"unit": UNIT, "period": "monthly", "price": 30000, "plate": "沪A12345"},
        headers={**manager, **key()},
    )
    assert pass_.status_code == 409, pass_.text  # the wallet holds 100 of the 300
    top_up(client, manager, 30_000)
    pass_ = client.post(
        "/v1/parking/passes",
        json={"unit": UNIT, "period": "monthly", "price": 30000, "plate": "沪A12345"},
        headers={**manager, **key()},
    )
    assert pass_.status_code == 201, pass_.text
    refused = enter(db, "沪A12345", datetime.now(UTC), match="fuzzy")
    assert not refused["allowed"]
    assert refused["reason"] == "not_exact"
    entry = enter(db, "沪A12345", datetime.now(UTC))
    assert entry["kind"] == "pass"
    # The gate matched a misread against the cars inside and sends the plate it matched.
    out = leave(db, "沪A12345", datetime.now(UTC), match="fuzzy")
    assert out["allowed"]
    assert out["amount"] == 0
    assert out["paid_by"] == "pass"
    with db.read() as conn:
        row = conn.execute(select(parking_sessions.c.exit_match)).scalar_one()
    assert row == "fuzzy"


def test_anti_passback_one_pass_one_car_inside(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    setup(client, db, manager)
    top_up(client, manager, 40_000)
    answer = client.post(
        "/v1/parking/passes",
        json={
            "unit": UNIT,
            "period": "monthly",
            "price": 30000,  # no plate: any plate of the unit
            "start": (datetime.now(UTC) - timedelta(days=2)).date().isoformat(),
        },
        headers={**manager, **key()},
    )
    assert answer.status_code == 201, answer.text
    now = datetime.now(UTC)
    first = enter(db, "沪A12345", now - timedelta(hours=3))
    assert first["kind"] == "pass"
    second = enter(db, "沪B77777", now - timedelta(hours=2))
    assert second["kind"] == "resident"
    assert second["pass_id"] is None
    again = enter(db, "沪A12345", now - timedelta(hours=1))  # a second car on a copied plate
    assert again["already_inside"] == first["session_id"]
    reviews = client.get("/v1/parking/reviews", headers=manager).json()
    assert [r["situation"] for r in reviews] == ["already_inside"]


def test_exit_without_entry_follows_the_rule(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    setup(client, db, manager)
    top_up(client, manager, 10_000)
    rules = {"rules": {"exit_without_entry": {"action": "charge_maximum", "maximum": 6000}}}
    answer = client.put("/v1/parking/rules", json=rules, headers={**manager, **key()})
    assert answer.status_code == 200, answer.text
    out = leave(db, "沪A12345", datetime.now(UTC))
    assert out["allowed"]
    assert out["amount"] == 6000
    assert out["review"]
    assert balance(db) == 4000
    bad = {"rules": {"reversed_out": {"action": "charge_tariff"}}}
    answer = client.put("/v1/parking/rules", json=bad, headers={**manager, **key()})
    assert answer.status_code == 422


def test_pass_expiring_mid_stay_is_charged_from_its_end(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    setup(client, db, manager)
    top_up(client, manager, 40_000)
    with db.write() as conn:
        sold = passes.buy_pass(
            conn,
            ctx(T0),
            unit=UNIT,
            period="monthly",
            price=100,
            plate="沪A12345",
            start=datetime(2026, 10, 25).date(),
            auto_renew=False,
        )
    assert sold["valid_until"] == "2026-11-24"
    ends = datetime(2026, 11, 25, tzinfo=ESTATE.zone)
    assert enter(db, "沪A12345", ends - timedelta(hours=1))["kind"] == "pass"
    out = leave(db, "沪A12345", ends + timedelta(minutes=61))
    assert out["amount"] == 1000  # two started hours after the end, no convenience time


def test_tariff_changed_during_an_offline_hour_is_honoured(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    """The gate priced the stay with v1 while offline; v2 came in meanwhile."""
    setup(client, db, manager)
    top_up(client, manager, 10_000)
    now = datetime.now(UTC)
    entered = now - timedelta(hours=2)
    enter(db, "沪A12345", entered)
    tariff(client, manager, "resident", "r2", day_rate="9", effective_from=now.isoformat())
    with db.read() as conn:
        assert tariffs.current_tariff(conn, TariffKind.RESIDENT, now).version == "r2"
    # The gate's journal reaches the server after reconnecting: its record names r1.
    gate_key = {"Idempotency-Key": "gate-1:seq:41"}
    record = {
        "plate": "沪A12345",
        "lane": "out-1",
        "at": (now - timedelta(minutes=30)).isoformat(),
        "tariff_version": "r1",
        "amount": 1000,
        "paid_by": "wallet",
    }
    answer = client.post("/v1/parking/exits", json=record, headers={**manager, **gate_key})
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert out["amount"] == 1000
    assert out["tariff_version"] == "r1"
    assert not out["review"]
    again = client.post("/v1/parking/exits", json=record, headers={**manager, **gate_key})
    assert again.json() == out
    assert again.headers["Idempotent-Replayed"] == "true"
    assert balance(db) == 9000
    # A car priced by the server now gets r2.
    enter(db, "沪B77777", now - timedelta(minutes=50))
    assert leave(db, "沪B77777", now)["amount"] == 900


def test_pass_renews_itself_once_per_period(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    setup(client, db, manager)
    with db.write() as conn:
        registry.add_resident(conn, unit=UNIT, name="Li Lei", phone="+8613800000000")
    top_up(client, manager, 100_000)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with db.write() as conn:
        sold = passes.buy_pass(
            conn, ctx(start), unit=UNIT, period="monthly", price=30000, start=start.date()
        )
    assert sold["valid_until"] == "2026-11-30"
    assert balance(db) == 70_000
    # Ten days before the end: a reminder, no charge.
    report = renewal.run_renewals(db, ESTATE, now=datetime(2026, 11, 20, 4, tzinfo=UTC))
    assert report.as_dict() == {"renewed": 0, "reminded": 1, "failed": 0, "lapsed": 0}
    report = renewal.run_renewals(db, ESTATE, now=datetime(2026, 11, 21, 4, tzinfo=UTC))
    assert report.as_dict()["reminded"] == 0  # once per period
    # Seven days before: renewed; again the same day: nothing more.
    for _ in range(2):
        renewal.run_renewals(db, ESTATE, now=datetime(2026, 11, 23, 4, tzinfo=UTC))
    assert balance(db) == 40_000
    with db.read() as conn:
        assert conn.execute(select(parking_passes.c.valid_until)).scalar_one() == "2026-12-31"
        kinds = conn.execute(select(notifications.c.kind, notifications.c.channel)).all()
    assert sorted(kinds) == [
        ("parking_renewal_reminder", "app"),
        ("parking_renewal_reminder", "sms"),
    ]


def test_a_wallet_that_cannot_pay_is_told_once_and_the_pass_lapses(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    setup(client, db, manager)
    with db.write() as conn:
        registry.add_resident(conn, unit=UNIT, name="Han Meimei", email="h@example.com")
    top_up(client, manager, 30_000)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with db.write() as conn:
        passes.buy_pass(
            conn, ctx(start), unit=UNIT, period="quarterly", price=30000, start=start.date()
        )
    assert balance(db) == 0
    for day in (25, 26):
        report = renewal.run_renewals(db, ESTATE, now=datetime(2027, 1, day, 4, tzinfo=UTC))
        assert report.as_dict()["failed"] == 1
    with db.read() as conn:
        sent = conn.execute(
            select(notifications.c.kind).where(notifications.c.kind == "parking_renewal_failed")
        ).all()
    assert len(sent) == 2  # e-mail and app, once each
    report = renewal.run_renewals(db, ESTATE, now=datetime(2027, 2, 1, 4, tzinfo=UTC))
    assert report.as_dict()["lapsed"] == 1
    with db.read() as conn:
        assert conn.execute(select(parking_passes.c.status)).scalar_one() == "lapsed"


def test_a_gate_record_the_server_cannot_settle_is_honoured_and_reviewed(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    """The gate let a car out on its word; the server closes the stay, never refuses it."""
    setup(client, db, manager)
    enter(db, "粤C99999", T0)
    # The gate thought it a resident's car (its snapshot was older than a deregistration).
    out = leave(
        db, "粤C99999", T0 + timedelta(hours=1), tariff_version="r1", amount=500, paid_by="wallet"
    )
    assert out["allowed"]
    assert out["paid_by"] == "owed"
    assert out["review"]
    with db.read() as conn:
        assert sessions.cars_inside(conn) == []
        notes = [r["note"] for r in review_cases.open_reviews(conn)]
    assert "resident stay with r1" in notes[0]


def test_already_inside_charged_the_maximum(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    setup(client, db, manager)
    top_up(client, manager, 10_000)
    rules = {"rules": {"already_inside": {"action": "charge_maximum", "maximum": 3000}}}
    answer = client.put("/v1/parking/rules", json=rules, headers={**manager, **key()})
    assert answer.status_code == 200, answer.text
    first = enter(db, "沪A12345", T0)
    again = enter(db, "沪A12345", T0 + timedelta(hours=1))
    assert again["already_inside"] == first["session_id"]
    assert balance(db) == 7000
    assert client.get("/v1/parking/rules", headers=manager).json()["rules"]["already_inside"] == {
        "action": "charge_maximum",
        "maximum": 3000,
    }


def test_a_car_that_backed_out_follows_the_rule(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    setup(client, db, manager)
    now = datetime.now(UTC)
    enter(db, "粤C99999", now - timedelta(minutes=5))
    body = {"plate": "粤C99999", "direction": "entry", "lane": "in-1"}
    answer = client.post("/v1/parking/reversals", json=body, headers={**manager, **key()})
    assert answer.status_code == 200, answer.text
    assert answer.json()["action"] == "cancelled"
    assert client.get("/v1/parking/inside", headers=manager).json() == []
    rules = {"rules": {"reversed_out": {"action": "review"}}}
    assert client.put("/v1/parking/rules", json=rules, headers={**manager, **key()}).is_success
    enter(db, "粤C99999", now - timedelta(minutes=1))
    answer = client.post("/v1/parking/reversals", json=body, headers={**manager, **key()})
    assert answer.json()["action"] == "review"
    assert len(client.get("/v1/parking/inside", headers=manager).json()) == 1
    reviews = client.get("/v1/parking/reviews", headers=manager).json()
    assert [r["situation"] for r in reviews] == ["reversed_out"]


def test_a_visitor_pays_in_advance_and_leaves_within_the_grace_period(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    setup(client, db, manager)
    now = datetime.now(UTC)
    enter(db, "粤C99999", now - timedelta(minutes=50))
    quote = client.get("/v1/parking/quote?plate=粤C99999", headers=manager).json()
    assert quote["due"] == 500
    stale = {"plate": "粤C99999", "amount": 400, "tariff_version": "v1"}
    answer = client.post("/v1/parking/prepayments", json=stale, headers={**manager, **key()})
    assert answer.status_code == 409
    body = {"plate": "粤C99999", "amount": 500, "tariff_version": quote["tariff_version"]}
    answer = client.post("/v1/parking/prepayments", json=body, headers={**manager, **key()})
    assert answer.status_code == 201, answer.text
    assert answer.json()["grace_minutes"] == 15
    assert balance(db, "clearing:sandbox") == -500
    # The gate's snapshot says the stay is paid, under the plate's keyed hash.
    snapshot = client.get("/v1/parking/snapshot?terminal=gate-1", headers=manager).json()
    assert len(snapshot["paid"]) == 1
    with db.write() as conn:
        out = service.leave(conn, ctx(datetime.now(UTC)), plate="粤C99999")
    assert out["allowed"]
    assert out["amount"] == 0  # nothing more at the exit
    with db.read() as conn:
        assert conn.execute(select(parking_sessions.c.amount)).scalar_one() == 500
