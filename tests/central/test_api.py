"""The HTTP API: every endpoint, every bad input of the first central issue."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from central.db.database import Database
from central.db.schema import idempotency_keys, postings, transactions
from tests.central.conftest import MANAGER_PASSWORD, token_for

_keys = itertools.count()


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"test-{next(_keys)}"}


def top_up(amount: int = 5000, **over: Any) -> dict[str, Any]:
    body = {
        "unit": "A-0101",
        "wallet": "electricity",
        "amount": amount,
        "currency": "CNY",
        "method": "staff_desk",
    }
    body.update(over)
    return body


def counts(db: Database) -> tuple[int, int, int]:
    with db.read() as conn:
        return (
            conn.execute(select(func.count()).select_from(transactions)).scalar_one(),
            conn.execute(select(func.count()).select_from(postings)).scalar_one(),
            conn.execute(select(func.count()).select_from(idempotency_keys)).scalar_one(),
        )


def wallets(client: TestClient, headers: dict[str, str], unit: str = "A-0101") -> dict[str, int]:
    answer = client.get(f"/v1/units/{unit}/wallets", headers=headers)
    assert answer.status_code == 200
    return {w["purpose"]: w["balance"] for w in answer.json()}


def test_health_states_the_server_time(client: TestClient) -> None:
    answer = client.get("/v1/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
    assert answer.json()["server_time"].endswith("+00:00")


def test_openapi_document_lists_the_ledger(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert "/v1/ledger/top-ups" in doc["paths"]
    assert "/v1/ledger/batch" in doc["paths"]


def test_sign_in_and_out(client: TestClient) -> None:
    answer = client.post("/v1/auth/token", json={"username": "boss", "password": MANAGER_PASSWORD})
    assert answer.status_code == 200
    headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    assert client.get("/v1/estate", headers=headers).status_code == 200
    assert client.post("/v1/auth/revoke", headers=headers).status_code == 204
    refused = client.get("/v1/estate", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_token"


def test_wrong_password_is_refused(client: TestClient) -> None:
    answer = client.post("/v1/auth/token", json={"username": "boss", "password": "nope"})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "bad_credentials"
    unknown = client.post("/v1/auth/token", json={"username": "ghost", "password": "nope"})
    assert unknown.json()["error"] == answer.json()["error"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic Ym9zczpwdw=="}],
)
def test_no_or_wrong_token_is_401_and_writes_nothing(
    client: TestClient, db: Database, headers: dict[str, str]
) -> None:
    before = counts(db)
    answer = client.post("/v1/ledger/top-ups", json=top_up(), headers={**headers, **key()})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] in ("no_token", "invalid_token")
    assert counts(db) == before


def test_top_up_then_statement(client: TestClient, manager: dict[str, str]) -> None:
    answer = client.post("/v1/ledger/top-ups", json=top_up(5000), headers={**manager, **key()})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["balances"]["wallet:A-0101:electricity"] == 5000
    assert body["balances"]["cash_desk:office"] == -5000
    assert wallets(client, manager)["electricity"] == 5000

    tx = client.get(f"/v1/ledger/transactions/{body['transaction_id']}", headers=manager).json()
    assert sorted(p["amount"] for p in tx["postings"]) == [-5000, 5000]

    st = client.get(
        "/v1/units/A-0101/wallets/electricity/statement",
        params={
            "from": str(date.today() - timedelta(days=2)),
            "to": str(date.today() + timedelta(days=2)),
        },
        headers=manager,
    ).json()
    assert st["opening"] == 0
    assert st["closing"] == 5000
    assert st["timezone"] == "Asia/Shanghai"
    assert st["lines"][0]["at"].endswith("+08:00")
    too_long = client.get(
        "/v1/units/A-0101/wallets/electricity/statement",
        params={"from": "2000-01-01", "to": "2100-01-01"},
        headers=manager,
    )
    assert too_long.json()["error"]["code"] == "invalid_period"


def test_same_key_same_body_answers_the_first_result(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    headers = {**manager, "Idempotency-Key": "pay-once"}
    first = client.post("/v1/ledger/top-ups", json=top_up(700), headers=headers)
    before = counts(db)
    again = client.post("/v1/ledger/top-ups", json=top_up(700), headers=headers)
    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert counts(db) == before
    assert wallets(client, manager)["electricity"] == 700


def test_same_key_other_body_is_409(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    headers = {**manager, "Idempotency-Key": "pay-twice"}
    client.post("/v1/ledger/top-ups", json=top_up(700), headers=headers)
    before = counts(db)
    clash = client.post("/v1/ledger/top-ups", json=top_up(701), headers=headers)
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "idempotency_conflict"
    assert counts(db) == before


def test_write_without_key_is_refused(client: TestClient, manager: dict[str, str]) -> None:
    answer = client.post("/v1/ledger/top-ups", json=top_up(), headers=manager)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "idempotency_key_missing"


BAD_TOP_UPS = [
    (top_up(0), 422, "invalid_amount"),
    (top_up(-100), 422, "invalid_amount"),
    (top_up(10**13 + 1), 422, "amount_too_large"),
    (top_up(10**30), 422, "amount_too_large"),
    (top_up(12.5), 422, "malformed_request"),
    (top_up("100"), 422, "malformed_request"),
    (top_up(True), 422, "malformed_request"),
    (top_up(unit="Z-9999"), 404, "unknown_unit"),
    (top_up(wallet="beer"), 404, "unknown_wallet"),
    (top_up(currency="USD"), 422, "currency_mismatch"),
    (top_up(method="barter"), 422, "malformed_request"),
    (top_up(method="cash", source="Not A Kiosk!"), 422, "invalid_source"),
    ({**top_up(), "surprise": 1}, 422, "malformed_request"),
    ({"unit": "A-0101"}, 422, "malformed_request"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_TOP_UPS)
def test_bad_top_ups_are_refused_and_write_nothing(
    client: TestClient,
    db: Database,
    manager: dict[str, str],
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    before = counts(db)
    answer = client.post("/v1/ledger/top-ups", json=body, headers={**manager, **key()})
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert counts(db) == before


def test_malformed_json_is_400(client: TestClient, db: Database, manager: dict[str, str]) -> None:
    before = counts(db)
    answer = client.post(
        "/v1/ledger/top-ups",
        content=b'{"unit": "A-0101", "amount": ',
        headers={**manager, **key(), "Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "malformed_json"
    assert counts(db) == before


def test_charge_within_and_beyond_the_overdraft_policy(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    # Electricity may go down to minus the estate's emergency credit (10.00), not further.
    charge = {"unit": "A-0101", "wallet": "electricity", "amount": 1000, "currency": "CNY"}
    ok = client.post("/v1/ledger/charges", json=charge, headers={**manager, **key()})
    assert ok.status_code == 201, ok.text
    assert ok.json()["balances"]["wallet:A-0101:electricity"] == -1000
    assert ok.json()["balances"]["revenue:electricity"] == 1000
    before = counts(db)
    over = client.post(
        "/v1/ledger/charges", json={**charge, "amount": 1}, headers={**manager, **key()}
    )
    assert over.status_code == 409
    assert over.json()["error"]["code"] == "insufficient_funds"
    assert counts(db) == before
    # Services never go below zero.
    services = client.post(
        "/v1/ledger/charges",
        json={**charge, "wallet": "services", "amount": 1},
        headers={**manager, **key()},
    )
    assert services.json()["error"]["code"] == "insufficient_funds"


def test_transfer_between_wallets_and_never_out_of_the_fund(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    client.post(
        "/v1/ledger/top-ups", json=top_up(3000, wallet="services"), headers={**manager, **key()}
    )
    move = {
        "unit": "A-0101",
        "from_wallet": "services",
        "to_wallet": "maintenance_fund",
        "amount": 2000,
        "currency": "CNY",
    }
    ok = client.post("/v1/ledger/transfers", json=move, headers={**manager, **key()})
    assert ok.status_code == 201, ok.text
    balances = wallets(client, manager)
    assert balances["services"] == 1000
    assert balances["maintenance_fund"] == 2000
    before = counts(db)
    back = {**move, "from_wallet": "maintenance_fund", "to_wallet": "services", "amount": 100}
    refused = client.post("/v1/ledger/transfers", json=back, headers={**manager, **key()})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "fund_transfer_forbidden"
    refund = {
        "unit": "A-0101",
        "wallet": "maintenance_fund",
        "amount": 100,
        "currency": "CNY",
        "method": "staff_desk",
    }
    refused = client.post("/v1/ledger/refunds", json=refund, headers={**manager, **key()})
    assert refused.json()["error"]["code"] == "fund_transfer_forbidden"
    assert counts(db) == before


def test_refund_and_reversal(client: TestClient, db: Database, manager: dict[str, str]) -> None:
    paid = client.post(
        "/v1/ledger/top-ups",
        json=top_up(4000, wallet="water", method="provider", source="alipay"),
        headers={**manager, **key()},
    ).json()
    assert paid["balances"]["clearing:alipay"] == -4000
    refund = {
        "unit": "A-0101",
        "wallet": "water",
        "amount": 1500,
        "currency": "CNY",
        "method": "provider",
        "destination": "alipay",
    }
    refunded = client.post("/v1/ledger/refunds", json=refund, headers={**manager, **key()})
    assert refunded.status_code == 201, refunded.text
    assert refunded.json()["balances"]["clearing:alipay"] == -2500
    reversal = client.post(
        "/v1/ledger/reversals",
        json={"transaction_id": refunded.json()["transaction_id"], "reason": "refunded in error"},
        headers={**manager, **key()},
    )
    assert reversal.status_code == 201, reversal.text
    assert wallets(client, manager)["water"] == 4000
    again = client.post(
        "/v1/ledger/reversals",
        json={"transaction_id": refunded.json()["transaction_id"], "reason": "twice"},
        headers={**manager, **key()},
    )
    assert again.json()["error"]["code"] == "already_reversed"
    of_reversal = client.post(
        "/v1/ledger/reversals",
        json={"transaction_id": reversal.json()["transaction_id"], "reason": "undo"},
        headers={**manager, **key()},
    )
    assert of_reversal.json()["error"]["code"] == "reversal_of_reversal"
    unknown = client.post(
        "/v1/ledger/reversals",
        json={"transaction_id": "nope", "reason": "x"},
        headers={**manager, **key()},
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_transaction"
    cash_refund = client.post(
        "/v1/ledger/refunds", json={**refund, "method": "cash"}, headers={**manager, **key()}
    )
    assert cash_refund.status_code == 422


def test_hold_capture_and_release(client: TestClient, manager: dict[str, str]) -> None:
    client.post(
        "/v1/ledger/top-ups", json=top_up(1000, wallet="services"), headers={**manager, **key()}
    )
    hold = {
        "unit": "A-0101",
        "wallet": "services",
        "amount": 800,
        "currency": "CNY",
        "service": "laundry",
    }
    placed = client.post("/v1/ledger/holds", json=hold, headers={**manager, **key()})
    assert placed.status_code == 201, placed.text
    hold_id = placed.json()["hold_id"]
    # The held money is not available to a charge or a second hold.
    second = client.post(
        "/v1/ledger/holds", json={**hold, "amount": 300}, headers={**manager, **key()}
    )
    assert second.json()["error"]["code"] == "insufficient_funds"
    charge = {"unit": "A-0101", "wallet": "services", "amount": 300, "currency": "CNY"}
    refused = client.post("/v1/ledger/charges", json=charge, headers={**manager, **key()})
    assert refused.json()["error"]["code"] == "insufficient_funds"

    too_much = client.post(
        f"/v1/ledger/holds/{hold_id}/capture",
        json={"amount": 900, "currency": "CNY"},
        headers={**manager, **key()},
    )
    assert too_much.json()["error"]["code"] == "capture_exceeds_hold"
    captured = client.post(
        f"/v1/ledger/holds/{hold_id}/capture",
        json={"amount": 450, "currency": "CNY"},
        headers={**manager, **key()},
    )
    assert captured.status_code == 201, captured.text
    assert captured.json()["released"] == 350
    assert captured.json()["balances"]["revenue:laundry"] == 450
    listing = client.get("/v1/units/A-0101/wallets", headers=manager).json()
    services = next(w for w in listing if w["purpose"] == "services")
    assert (services["balance"], services["held"]) == (550, 0)

    closed = client.post(f"/v1/ledger/holds/{hold_id}/release", headers={**manager, **key()})
    assert closed.json()["error"]["code"] == "hold_closed"
    other = client.post(
        "/v1/ledger/holds", json={**hold, "amount": 500}, headers={**manager, **key()}
    )
    released = client.post(
        f"/v1/ledger/holds/{other.json()['hold_id']}/release", headers={**manager, **key()}
    )
    assert released.status_code == 200
    assert released.json()["released"] == 500
    missing = client.post("/v1/ledger/holds/none/release", headers={**manager, **key()})
    assert missing.status_code == 404


def test_batch_gives_a_verdict_per_entry(client: TestClient, manager: dict[str, str]) -> None:
    entries = [
        {"key": "b-1", "operation": "top_up", "body": top_up(1000)},
        {
            "key": "b-2",
            "operation": "charge",
            "body": {"unit": "A-0101", "wallet": "electricity", "amount": 400, "currency": "CNY"},
        },
        {
            "key": "b-3",
            "operation": "charge",
            "body": {"unit": "A-0101", "wallet": "services", "amount": 1, "currency": "CNY"},
        },
        {"key": "b-4", "operation": "top_up", "body": top_up(-5)},
        {"key": "b-5", "operation": "top_up", "body": {"nonsense": True}},
        {"key": "b-1", "operation": "top_up", "body": top_up(1000)},
    ]
    answer = client.post("/v1/ledger/batch", json={"entries": entries}, headers=manager)
    assert answer.status_code == 200, answer.text
    verdicts = [(r["key"], r["verdict"], r["code"]) for r in answer.json()["results"]]
    assert verdicts == [
        ("b-1", "applied", None),
        ("b-2", "applied", None),
        ("b-3", "rejected", "insufficient_funds"),
        ("b-4", "rejected", "invalid_amount"),
        ("b-5", "rejected", "malformed_request"),
        ("b-1", "duplicate", None),
    ]
    assert wallets(client, manager)["electricity"] == 600
    # The whole batch again: every entry a duplicate or the same rejection.
    replay = client.post("/v1/ledger/batch", json={"entries": entries[:2]}, headers=manager)
    assert [r["verdict"] for r in replay.json()["results"]] == ["duplicate", "duplicate"]
    assert wallets(client, manager)["electricity"] == 600


def test_batch_with_a_reversal_and_a_reused_key(
    client: TestClient, manager: dict[str, str]
) -> None:
    first = client.post(
        "/v1/ledger/batch",
        json={"entries": [{"key": "r-1", "operation": "top_up", "body": top_up(900)}]},
        headers=manager,
    ).json()
    paid = first["results"][0]["result"]["transaction_id"]
    entries = [
        {
            "key": "r-2",
            "operation": "charge",
            "body": {"unit": "A-0101", "wallet": "electricity", "amount": 100, "currency": "CNY"},
        },
        {
            "key": "r-3",
            "operation": "reversal",
            "body": {"transaction_id": paid, "reason": "wrong unit"},
        },
        {"key": "r-4", "operation": "top_up", "body": top_up(50)},
        {"key": "r-4", "operation": "top_up", "body": top_up(51)},
        {"key": "r-5", "operation": "teleport", "body": {}},
    ]
    answer = client.post("/v1/ledger/batch", json={"entries": entries}, headers=manager).json()
    assert [(r["verdict"], r["code"]) for r in answer["results"]] == [
        ("applied", None),
        ("applied", None),
        ("applied", None),
        ("rejected", "idempotency_conflict"),
        ("rejected", "unknown_operation"),
    ]
    # 900 paid, 100 charged, the 900 reversed, 50 paid: -50 (inside the emergency credit).
    assert wallets(client, manager)["electricity"] == -50
    assert client.get("/v1/ledger/check", headers=manager).json()["ok"] is True


def test_check_endpoint(client: TestClient, manager: dict[str, str]) -> None:
    client.post("/v1/ledger/top-ups", json=top_up(), headers={**manager, **key()})
    report = client.get("/v1/ledger/check", headers=manager).json()
    assert report["ok"] is True
    assert report["transactions"] == 1


def test_registry_endpoints(client: TestClient, manager: dict[str, str]) -> None:
    assert (
        client.post(
            "/v1/sites", json={"code": "s2", "name": "Two"}, headers={**manager, **key()}
        ).status_code
        == 201
    )
    building = {"site": "s2", "code": "C", "name": "Tower C", "floors": 5}
    assert (
        client.post("/v1/buildings", json=building, headers={**manager, **key()}).status_code == 201
    )
    unit = {"building": "C", "number": "0301", "floor": 3, "area_m2": "75.5"}
    made = client.post("/v1/units", json=unit, headers={**manager, **key()})
    assert made.status_code == 201, made.text
    assert made.json()["id"] == "C-0301"
    dup = client.post("/v1/units", json=unit, headers={**manager, **key()})
    assert dup.json()["error"]["code"] == "already_exists"
    bad_floor = client.post(
        "/v1/units", json={**unit, "number": "0901", "floor": 9}, headers={**manager, **key()}
    )
    assert bad_floor.json()["error"]["code"] == "invalid_unit"
    assert client.get("/v1/units/C-0301", headers=manager).json()["area_m2"] == "75.50"
    assert len(wallets(client, manager, "C-0301")) == 7
    assert any(u["code"] == "C-0301" for u in client.get("/v1/units", headers=manager).json())
    assert client.get("/v1/units/Z-1", headers=manager).status_code == 404

    resident = client.post(
        "/v1/residents",
        json={"unit": "C-0301", "name": "Ada Example", "phone": "+86 13900000000"},
        headers={**manager, **key()},
    )
    assert resident.status_code == 201
    card = client.post(
        "/v1/credentials",
        json={
            "unit": "C-0301",
            "kind": "card",
            "value": "c0301-aa",
            "resident_id": resident.json()["id"],
        },
        headers={**manager, **key()},
    )
    assert card.status_code == 201
    lost = client.post(
        f"/v1/credentials/{card.json()['id']}/status",
        json={"status": "lost"},
        headers={**manager, **key()},
    )
    assert lost.status_code == 200
    assert (
        client.post(
            "/v1/credentials/9999/status", json={"status": "lost"}, headers={**manager, **key()}
        ).status_code
        == 404
    )
    same_plate = {"unit": "C-0301", "kind": "plate", "value": "沪A 12345"}
    assert (
        client.post("/v1/credentials", json=same_plate, headers={**manager, **key()}).status_code
        == 201
    )
    clash = client.post(
        "/v1/credentials", json={**same_plate, "value": "沪a-12345"}, headers={**manager, **key()}
    )
    assert clash.json()["error"]["code"] == "already_exists"


def test_staff_roles_are_enforced(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    added = client.post(
        "/v1/staff",
        json={"username": "desk2", "password": "long enough pw", "role": "cashier"},
        headers={**manager, **key()},
    )
    assert added.status_code == 201
    auditor = {"Authorization": f"Bearer {token_for(db, 'auditor')}"}
    technician = {"Authorization": f"Bearer {token_for(db, 'technician')}"}
    cashier = {"Authorization": f"Bearer {token_for(db, 'cashier')}"}
    assert client.get("/v1/ledger/check", headers=auditor).status_code == 200
    for headers in (auditor, technician):
        refused = client.post("/v1/ledger/top-ups", json=top_up(), headers={**headers, **key()})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "role_not_allowed"
    assert (
        client.post("/v1/ledger/top-ups", json=top_up(), headers={**cashier, **key()}).status_code
        == 201
    )
    assert client.get("/v1/ledger/check", headers=technician).status_code == 403


def test_unknown_route_answers_in_the_error_shape(client: TestClient) -> None:
    answer = client.get("/v1/nowhere")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_a_terminal_takes_cash_only_into_its_own_cash_box(db: Database) -> None:
    from central.errors import Forbidden
    from central.ledger.plans import Context, DbResolver, money_source
    from tests.central.conftest import ESTATE

    ctx = Context(ESTATE, "k", "terminal:kiosk-01", terminal_id="kiosk-01")
    with db.write() as conn:
        own = money_source(ctx, DbResolver(conn, "CNY"), "cash", "kiosk-01")
        assert own.code == "cash_box:kiosk-01"
        with pytest.raises(Forbidden) as refused:
            money_source(ctx, DbResolver(conn, "CNY"), "cash", "kiosk-02")
    assert refused.value.status == 403
    assert refused.value.code == "other_terminal"
