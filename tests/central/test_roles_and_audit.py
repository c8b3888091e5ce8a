"""Roles: every endpoint states who may call it, and every other role is refused.
Audit: every staff action is recorded, append-only, and no action lands without it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from central.api.app import allowed_roles, api_routes
from central.auth.principal import Role
from central.db.database import Database
from central.db.schema import api_tokens, audit_log, transactions
from central.db.types import utcnow
from tests.central.conftest import token_for

STAFF = [Role.MANAGER, Role.CASHIER, Role.TECHNICIAN, Role.AUDITOR]
# Public on purpose: liveness, signing in, and enrolment (the one-time code is the credential).
PUBLIC = {
    "/v1/health",
    "/v1/auth/token",
    "/v1/terminals/enrol",
    "/v1/me/sign-in/code",
    "/v1/me/sign-in/token",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
}


def _routes(client: TestClient) -> list[APIRoute]:
    routes = api_routes(client.app)  # type: ignore[arg-type]
    assert len(routes) > 20
    return routes


def test_every_endpoint_states_its_roles(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    for route in _routes(client):
        roles = allowed_roles(route)
        if route.path in PUBLIC:
            continue
        if route.path == "/v1/me" or route.path.startswith("/v1/me/"):
            assert roles == {"resident"}, route.path
            continue
        assert roles, f"{route.path} admits no role: is it meant to be public?"
        for method in route.methods:
            description = doc["paths"][route.path][method.lower()]["description"]
            assert "Who may call it:" in description


def test_each_other_role_is_refused(client: TestClient, db: Database) -> None:
    tokens = {role: {"Authorization": f"Bearer {token_for(db, role.value)}"} for role in STAFF[1:]}
    tokens[Role.MANAGER] = {"Authorization": f"Bearer {token_for(db, 'boss')}"}
    with db.read() as conn:
        before = conn.execute(select(func.count()).select_from(transactions)).scalar_one()
    checked = 0
    for route in _routes(client):
        roles = allowed_roles(route)
        if roles is None or route.path in PUBLIC:
            continue
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        for role in STAFF:
            if role.value in roles:
                continue
            for method in route.methods:
                answer = client.request(
                    method, path, headers={**tokens[role], "Idempotency-Key": "r"}, json={}
                )
                assert answer.status_code == 403, (method, route.path, role, answer.text)
                assert answer.json()["error"]["code"] == "role_not_allowed"
                checked += 1
    assert checked > 20
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(transactions)).scalar_one() == before


def test_expired_token_is_refused(client: TestClient, db: Database) -> None:
    token = token_for(db, "boss")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/units", headers=headers).status_code == 200
    with db.write() as conn:
        conn.execute(update(api_tokens).values(expires_at=utcnow() - timedelta(seconds=1)))
    answer = client.get("/v1/units", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "token_expired"


def test_staff_actions_are_audited(client: TestClient, db: Database) -> None:
    cashier = {"Authorization": f"Bearer {token_for(db, 'cashier')}", "Idempotency-Key": "desk-1"}
    body = {
        "unit": "A-0101",
        "wallet": "water",
        "amount": 2500,
        "currency": "CNY",
        "method": "staff_desk",
    }
    paid = client.post("/v1/ledger/top-ups", json=body, headers=cashier)
    assert paid.status_code == 201
    client.post("/v1/ledger/top-ups", json=body, headers=cashier)  # a replay is not a new action
    auditor = {"Authorization": f"Bearer {token_for(db, 'auditor')}"}
    found = client.get(
        "/v1/audit", params={"actor": "staff:cashier", "action": "top_up"}, headers=auditor
    ).json()
    assert len(found) == 1
    entry = found[0]
    assert entry["subject"] == "A-0101"
    assert entry["role"] == "cashier"
    assert entry["remote"] == "testclient"
    assert entry["after"]["result"]["transaction_id"] == paid.json()["transaction_id"]
    assert entry["idempotency_key"] == "desk-1"
    sign_ins = client.get("/v1/audit", params={"action": "sign_in"}, headers=auditor).json()
    assert sign_ins == []  # tokens here were issued directly, not through sign-in
    client.post("/v1/auth/token", json={"username": "cashier", "password": "correct horse battery"})
    assert len(client.get("/v1/audit", params={"action": "sign_in"}, headers=auditor).json()) == 1
    assert (
        client.get(
            "/v1/audit", headers={"Authorization": f"Bearer {token_for(db, 'technician')}"}
        ).status_code
        == 403
    )


def test_credential_status_change_records_before_and_after(
    client: TestClient, manager: dict[str, str]
) -> None:
    card = client.post(
        "/v1/credentials",
        json={"unit": "A-0101", "kind": "card", "value": "CARD-77"},
        headers={**manager, "Idempotency-Key": "c-1"},
    ).json()
    client.post(
        f"/v1/credentials/{card['id']}/status",
        json={"status": "revoked"},
        headers={**manager, "Idempotency-Key": "c-2"},
    )
    entry = client.get("/v1/audit", params={"action": "credential_status"}, headers=manager).json()[
        0
    ]
    assert entry["before"] == {"status": "active"}
    assert entry["after"]["request"]["status"] == "revoked"


def test_the_audit_log_is_append_only(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    client.post(
        "/v1/sites",
        json={"code": "s9", "name": "Nine"},
        headers={**manager, "Idempotency-Key": "s9"},
    )
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), db.write() as conn:
            conn.execute(text(statement))
    with db.read() as conn:
        assert conn.execute(select(audit_log.c.actor)).scalars().all() == ["staff:boss"]


def test_no_desk_top_up_without_its_audit_entry(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    # Make the audit log refuse new entries: the top-up must not land either.
    with db.write() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER audit_refuse BEFORE INSERT ON audit_log "
                    "BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END"
                )
            )
        else:
            conn.execute(text("REVOKE INSERT ON audit_log FROM PUBLIC"))
            conn.execute(text("ALTER TABLE audit_log ADD CONSTRAINT audit_refuse CHECK (id < 0)"))
    body = {
        "unit": "A-0101",
        "wallet": "water",
        "amount": 100,
        "currency": "CNY",
        "method": "staff_desk",
    }
    server = TestClient(client.app, raise_server_exceptions=False)
    answer = server.post(
        "/v1/ledger/top-ups", json=body, headers={**manager, "Idempotency-Key": "k"}
    )
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "internal_error"
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(transactions)).scalar_one() == 0
