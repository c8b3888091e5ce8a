"""Facilities on the server: per use, passes with anti-passback, per-minute holds, refusals.

Over HTTP where the clock does not matter; through ``central.facilities.service``
with a fixed ``Context.now`` where it does (opening hours, minutes used).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from central.db.database import Database
from central.db.schema import accounts, holds
from central.facilities import service
from central.ledger.operations import Context
from tests.central.conftest import ESTATE

UNIT = "A-0101"
WALLET = f"wallet:{UNIT}:services"


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def top_up(client: TestClient, headers: dict[str, str], amount: int, unit: str = UNIT) -> None:
    body = {
        "unit": unit,
        "wallet": "services",
        "amount": amount,
        "currency": "CNY",
        "method": "staff_desk",
    }
    answer = client.post("/v1/ledger/top-ups", json=body, headers={**headers, **key()})
    assert answer.status_code == 201, answer.text


def balance(db: Database, code: str = WALLET) -> tuple[int, int]:
    with db.read() as conn:
        row = conn.execute(
            select(accounts.c.balance, accounts.c.held).where(accounts.c.code == code)
        ).one()
    return int(row.balance), int(row.held)


def make(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    answer = client.post("/v1/facilities", json=body, headers={**headers, **key()})
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def enter(
    client: TestClient, headers: dict[str, str], facility: str, **body: Any
) -> dict[str, Any]:
    answer = client.post(
        f"/v1/facilities/{facility}/entries",
        json={"unit": UNIT, **body},
        headers={**headers, **key()},
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_per_use_entry_is_charged_once(
    client: TestClient, manager: dict[str, str], db: Database
) -> None:
    made = make(client, manager, code="gym", name="Gym", kind="gym", pricing="per_use", price="15")
    assert made["service"] == "facility.gym"
    top_up(client, manager, 2000)
    same = {**manager, **key()}
    first = client.post("/v1/facilities/gym/entries", json={"unit": UNIT}, headers=same)
    again = client.post("/v1/facilities/gym/entries", json={"unit": UNIT}, headers=same)
    assert first.json()["allowed"] is True
    assert first.json()["amount"] == 1500
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert balance(db) == (500, 0)
    refused = enter(client, manager, "gym")
    assert (refused["allowed"], refused["reason"]) == (False, "no_money")
    assert "top up" in refused["message"]
    assert balance(db) == (500, 0)
    listed = client.get("/v1/facilities", headers=manager).json()
    assert [f["code"] for f in listed] == ["gym"]


def test_passes_and_anti_passback(
    client: TestClient, manager: dict[str, str], db: Database
) -> None:
    make(client, manager, code="pool", name="Pool", kind="pool", pricing="pass_only")
    answer = client.post(
        "/v1/facilities/pool/pass-products",
        json={"code": "pool-3", "kind": "visits", "price": "30", "visits": 2, "valid_days": 30},
        headers={**manager, **key()},
    )
    assert answer.status_code == 201, answer.text
    assert enter(client, manager, "pool")["reason"] == "pass_required"
    top_up(client, manager, 5000)
    sold = client.post(
        "/v1/facilities/passes",
        json={"unit": UNIT, "product": "pool-3"},
        headers={**manager, **key()},
    )
    assert sold.status_code == 201, sold.text
    assert sold.json()["visits_left"] == 2
    assert balance(db) == (2000, 0)
    first = enter(client, manager, "pool")
    assert (first["allowed"], first["method"], first["amount"]) == (True, "pass", 0)
    # The same pass again before an exit: anti-passback.
    assert enter(client, manager, "pool")["reason"] == "anti_passback"
    out = client.post(
        "/v1/facilities/pool/exits", json={"unit": UNIT}, headers={**manager, **key()}
    )
    assert out.json()["exits"] == 1
    assert enter(client, manager, "pool")["allowed"] is True
    client.post("/v1/facilities/pool/exits", json={"unit": UNIT}, headers={**manager, **key()})
    assert enter(client, manager, "pool")["reason"] == "no_visits_left"
    assert balance(db) == (2000, 0)  # passes cost once, entries nothing


def test_low_assurance_card_is_capped(client: TestClient, manager: dict[str, str]) -> None:
    make(
        client,
        manager,
        code="gym",
        name="Gym",
        kind="gym",
        pricing="per_use",
        price="15",
        low_assurance_daily_cap=2000,
    )
    top_up(client, manager, 10_000)
    card = {"credential": "h:em4100:abc", "low_assurance": True}
    assert enter(client, manager, "gym", **card)["allowed"] is True
    assert enter(client, manager, "gym", **card)["reason"] == "low_assurance_over_cap"
    # A QR token (high assurance) from the same household is not capped.
    assert enter(client, manager, "gym", credential="h:qr:abc")["allowed"] is True


def test_out_of_service(client: TestClient, manager: dict[str, str]) -> None:
    make(client, manager, code="gym", name="Gym", kind="gym", pricing="per_use", price="1")
    answer = client.put(
        "/v1/facilities/gym/service", json={"in_service": False}, headers={**manager, **key()}
    )
    assert answer.status_code == 200, answer.text
    assert enter(client, manager, "gym")["reason"] == "facility_closed"


def ctx_at(now: datetime) -> Context:
    return Context(estate=ESTATE, idempotency_key=uuid.uuid4().hex, actor="test", now=now)


def test_laundry_hold_then_capture(
    client: TestClient, manager: dict[str, str], db: Database
) -> None:
    top_up(client, manager, 5000)
    start = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    with db.write() as conn:
        service.create_facility(
            conn,
            code="washer-1",
            name="Washer 1",
            kind="laundry",
            pricing="per_minute",
            rate_per_minute="0.25",
            max_minutes=90,
            minimum_minutes=10,
            grace_s=30,
            now=start,
        )
        started = service.enter(conn, ctx_at(start), facility="washer-1", unit=UNIT)
    assert (started["method"], started["held"]) == ("hold", 2250)
    assert balance(db) == (5000, 2250)
    with db.write() as conn:
        stopped = service.stop_session(
            conn,
            ctx_at(start + timedelta(minutes=42, seconds=10)),
            session_id=started["session_id"],
        )
    assert (stopped["minutes"], stopped["amount"], stopped["released"]) == (42, 1050, 1200)
    assert balance(db) == (3950, 0)
    with db.read() as conn:
        status = conn.execute(select(holds.c.status).where(holds.c.id == started["hold_id"]))
        assert status.scalar_one() == "captured"
    revenue = balance(db, "revenue:facility.washer-1")
    assert revenue[0] == 1050


def test_opening_hours_use_the_estate_clock(
    client: TestClient, manager: dict[str, str], db: Database
) -> None:
    top_up(client, manager, 5000)
    created = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    with db.write() as conn:
        service.create_facility(
            conn,
            code="gym",
            name="Gym",
            kind="gym",
            pricing="per_use",
            price="15",
            hours={"mon-sun": ["06:00-22:00"]},
            now=created,
        )
        # 14:30 UTC is 22:30 in Shanghai: closed.
        late = service.enter(
            conn, ctx_at(datetime(2026, 11, 25, 14, 30, tzinfo=UTC)), facility="gym", unit=UNIT
        )
        # 22:30 UTC is 06:30 the next morning in Shanghai: open.
        early = service.enter(
            conn, ctx_at(datetime(2026, 11, 25, 22, 30, tzinfo=UTC)), facility="gym", unit=UNIT
        )
    assert late["reason"] == "closed_now"
    assert early["allowed"] is True


def test_bad_setups_are_refused(client: TestClient, manager: dict[str, str]) -> None:
    bad = {"code": "w", "name": "W", "kind": "laundry", "pricing": "per_minute"}
    answer = client.post("/v1/facilities", json=bad, headers={**manager, **key()})
    assert answer.status_code == 422
    hours = {"code": "g", "name": "G", "kind": "gym", "pricing": "per_use", "hours": {"xyz": []}}
    answer = client.post("/v1/facilities", json=hours, headers={**manager, **key()})
    assert answer.status_code == 422
    assert client.get("/v1/facilities/none", headers=manager).status_code == 404


def test_journalled_pass_uses_and_the_snapshot_passes(
    client: TestClient, manager: dict[str, str], db: Database
) -> None:
    make(client, manager, code="pool", name="Pool", kind="pool", pricing="pass_only")
    client.post(
        "/v1/facilities/pool/pass-products",
        json={"code": "pool-2", "kind": "visits", "price": "20", "visits": 2, "valid_days": 30},
        headers={**manager, **key()},
    )
    top_up(client, manager, 5000)
    at = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    with db.write() as conn:
        service.buy_pass(conn, ctx_at(at), unit=UNIT, product="pool-2", start=date(2026, 11, 20))
    with db.read() as conn:
        passes = service.snapshot_passes(conn, today=at.date())
    assert passes == {
        UNIT: {"pool": {"valid_from": "2026-11-20", "valid_until": "2026-12-19", "visits_left": 2}}
    }
    with db.write() as conn:
        uses = [
            service.record_pass_use(conn, ctx_at(at), facility="pool", unit=UNIT) for _ in range(3)
        ]
        after = service.snapshot_passes(conn, today=at.date())
    # Two visits on the pass; the third (let in offline) is recorded and flagged.
    assert [u["unmatched"] for u in uses] == [False, False, True]
    assert after == {}


def test_a_pass_cannot_start_in_another_century(
    client: TestClient, manager: dict[str, str]
) -> None:
    make(client, manager, code="gym", name="Gym", kind="gym", pricing="per_use", price="1")
    client.post(
        "/v1/facilities/gym/pass-products",
        json={"code": "gym-m", "kind": "monthly", "price": "1"},
        headers={**manager, **key()},
    )
    top_up(client, manager, 100)
    answer = client.post(
        "/v1/facilities/passes",
        json={"unit": UNIT, "product": "gym-m", "start": "9999-12-31"},
        headers={**manager, **key()},
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_pass_start"
