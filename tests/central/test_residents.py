"""Residents sign in by phone and one-time code and see their own household only."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from central.db.database import Database
from central.estate import registry


class CapturedCodes:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_code(self, *, phone: str, code: str, resident_id: int, language: str) -> None:
        self.sent.append({"phone": phone, "code": code, "resident_id": resident_id})


@pytest.fixture
def codes(client: TestClient) -> CapturedCodes:
    captured = CapturedCodes()
    client.app.state.code_sender = captured  # type: ignore[attr-defined]
    return captured


def _resident(db: Database, unit: str, phone: str) -> int:
    with db.write() as conn:
        return registry.add_resident(conn, unit=unit, name=f"Resident of {unit}", phone=phone)


def _sign_in(client: TestClient, codes: CapturedCodes, phone: str) -> dict[str, str]:
    assert client.post("/v1/me/sign-in/code", json={"phone": phone}).status_code == 202
    code = codes.sent[-1]["code"]
    answer = client.post("/v1/me/sign-in/token", json={"phone": phone, "code": code})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _pay(client: TestClient, manager: dict[str, str], unit: str, key: str) -> str:
    body = {
        "unit": unit,
        "wallet": "water",
        "amount": 1200,
        "currency": "CNY",
        "method": "staff_desk",
    }
    answer = client.post(
        "/v1/ledger/top-ups", json=body, headers={**manager, "Idempotency-Key": key}
    )
    charge = {"unit": unit, "wallet": "water", "amount": 200, "currency": "CNY"}
    client.post(
        "/v1/ledger/charges", json=charge, headers={**manager, "Idempotency-Key": key + "c"}
    )
    return str(answer.json()["transaction_id"])


def test_sign_in_with_a_code(client: TestClient, db: Database, codes: CapturedCodes) -> None:
    rid = _resident(db, "A-0101", "+86 139 0000 0001")
    # The answer is the same for a stranger's phone, and no code goes out.
    stranger = client.post("/v1/me/sign-in/code", json={"phone": "+86 139 9999 9999"})
    assert stranger.status_code == 202
    assert codes.sent == []
    headers = _sign_in(client, codes, "+8613900000001")
    assert codes.sent[0]["resident_id"] == rid
    me = client.get("/v1/me", headers=headers).json()
    assert me == {"resident_id": rid, "unit": "A-0101"}


def test_wrong_expired_and_reused_codes(
    client: TestClient, db: Database, codes: CapturedCodes
) -> None:
    _resident(db, "A-0101", "+8613900000002")
    client.post("/v1/me/sign-in/code", json={"phone": "+8613900000002"})
    code = codes.sent[-1]["code"]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        bad = client.post("/v1/me/sign-in/token", json={"phone": "+8613900000002", "code": wrong})
        assert bad.status_code == 401
        assert bad.json()["error"]["code"] == "bad_code"
    # Five wrong tries spend the code: even the right one is refused now.
    spent = client.post("/v1/me/sign-in/token", json={"phone": "+8613900000002", "code": code})
    assert spent.status_code == 401
    headers = _sign_in(client, codes, "+8613900000002")
    again = client.post(
        "/v1/me/sign-in/token", json={"phone": "+8613900000002", "code": codes.sent[-1]["code"]}
    )
    assert again.status_code == 401  # a code works once
    assert client.get("/v1/me", headers=headers).status_code == 200


def test_codes_are_rate_limited(client: TestClient, db: Database, codes: CapturedCodes) -> None:
    _resident(db, "A-0101", "+8613900000003")
    for _ in range(5):
        client.post("/v1/me/sign-in/code", json={"phone": "+8613900000003"})
    assert len(codes.sent) == 3


def test_a_resident_reads_their_own_household(
    client: TestClient, db: Database, codes: CapturedCodes, manager: dict[str, str]
) -> None:
    _resident(db, "A-0101", "+8613900000004")
    paid = _pay(client, manager, "A-0101", "own")
    headers = _sign_in(client, codes, "+8613900000004")
    wallets = client.get("/v1/me/units/A-0101/wallets", headers=headers).json()
    assert {w["purpose"]: w["balance"] for w in wallets}["water"] == 1000
    today = date.today()
    st = client.get(
        "/v1/me/units/A-0101/wallets/water/statement",
        params={"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))},
        headers=headers,
    ).json()
    assert st["closing"] == 1000
    usage = client.get("/v1/me/units/A-0101/usage", headers=headers).json()
    assert usage[0]["wallet"] == "water"
    assert usage[0]["charged"] == 200
    tx = client.get(f"/v1/me/transactions/{paid}", headers=headers).json()
    assert tx["postings"] == [{"wallet": "wallet:A-0101:water", "amount": 1200}]


def test_resident_a_cannot_reach_household_b(
    client: TestClient, db: Database, codes: CapturedCodes, manager: dict[str, str]
) -> None:
    """A's token on every resident endpoint with B's ids: all refused, nothing leaked."""
    _resident(db, "A-0101", "+8613900000005")
    _resident(db, "A-0102", "+8613900000006")
    _pay(client, manager, "A-0101", "a")
    b_tx = _pay(client, manager, "A-0102", "b")
    a = _sign_in(client, codes, "+8613900000005")
    today = date.today()
    period = {"from": str(today), "to": str(today)}
    probes = [
        ("/v1/me/units/A-0102/wallets", {}),
        ("/v1/me/units/A-0102/wallets/water/statement", period),
        ("/v1/me/units/A-0102/wallets/electricity/statement", period),
        ("/v1/me/units/A-0102/usage", {}),
        (f"/v1/me/transactions/{b_tx}", {}),
        # what does not exist answers exactly as what belongs to someone else
        ("/v1/me/units/Z-9999/wallets", {}),
        ("/v1/me/transactions/does-not-exist", {}),
    ]
    answers = []
    for path, params in probes:
        answer = client.get(path, params=params, headers=a)
        assert answer.status_code == 404, (path, answer.text)
        answers.append(answer.json())
        assert "A-0102" not in answer.text
        assert "1200" not in answer.text
    assert all(x == answers[0] for x in answers)
    # Staff endpoints refuse a resident token altogether.
    for path in ("/v1/units/A-0101/wallets", "/v1/units", "/v1/ledger/check", "/v1/audit"):
        refused = client.get(path, headers=a)
        assert refused.status_code == 403
    top_up = {
        "unit": "A-0101",
        "wallet": "water",
        "amount": 1,
        "currency": "CNY",
        "method": "staff_desk",
    }
    assert (
        client.post(
            "/v1/ledger/top-ups", json=top_up, headers={**a, "Idempotency-Key": "x"}
        ).status_code
        == 403
    )


def test_staff_token_is_not_a_resident_token(client: TestClient, manager: dict[str, str]) -> None:
    assert client.get("/v1/me", headers=manager).status_code == 403
