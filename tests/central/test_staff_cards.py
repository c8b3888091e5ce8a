"""Staff (technician) cards on the server: issued by a manager, in a kiosk's snapshot by
keyed hash, id and status only; lost or revoked cards sent with their status."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from central.auth.principal import Role
from central.auth.staff import create_staff
from central.db.database import Database
from central.estate import registry
from central.estate.settings import load
from central.journal import snapshot
from central.terminals import enrolment
from domain import journal as dj
from tests.central.conftest import token_for

sqlite_only = pytest.mark.parametrize("new_database", ["sqlite"], indirect=True)


def _terminal(db: Database, terminal_type: str) -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from domain import signing
    from provisioning.identity import public_bytes

    key = Ed25519PrivateKey.generate()
    public = public_bytes(key)
    with db.write() as conn:
        code = enrolment.create_code(
            conn, terminal_type=terminal_type, location="Lobby", created_by="staff:boss"
        )
        proof = key.sign(signing.enrolment_proof_message(code.code, public))
        return enrolment.enrol(conn, code=code.code, public_key=public, proof=proof).terminal_id


def _snapshot(db: Database, terminal_id: str) -> dict[str, object]:
    with db.write() as conn:
        return snapshot.build(conn, terminal_id=terminal_id, since=0, estate=load(conn))


@sqlite_only
def test_a_manager_issues_a_technician_card_that_kiosks_get_without_a_name(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    with db.write() as conn:
        create_staff(conn, username="ada.lin", password="ada's long password", role=Role.TECHNICIAN)
    made = client.post(
        "/v1/terminals/staff-cards",
        json={"card_number": "t-900 001", "staff": "ada.lin"},
        headers={**manager, "Idempotency-Key": "card-1"},
    )
    assert made.status_code == 201, made.text
    card_id = made.json()["id"]
    again = client.post(
        "/v1/terminals/staff-cards",
        json={"card_number": "t-900 001", "staff": "ada.lin"},
        headers={**manager, "Idempotency-Key": "card-1"},
    )
    assert again.json()["id"] == card_id  # a replay, not a second card
    listed = client.get("/v1/terminals/staff-cards", headers=manager).json()
    assert [(c["card_number"], c["staff"], c["status"]) for c in listed] == [
        ("T900001", "ada.lin", "active")
    ]

    kiosk = _terminal(db, "kiosk")
    held = _snapshot(db, kiosk)
    digest = dj.credential_hash(str(held["hash_key"]), "card", "T900001")
    assert held["staff_cards"] == {
        digest: {"id": card_id, "role": "technician", "status": "active"}
    }
    assert "ada" not in str(held)  # the holder's name is not sent
    assert digest not in held["credentials"]  # type: ignore[operator]  # never a household's
    assert _snapshot(db, _terminal(db, "gate"))["staff_cards"] == {}

    lost = client.post(
        f"/v1/terminals/staff-cards/{card_id}/status",
        json={"status": "lost"},
        headers={**manager, "Idempotency-Key": "card-1-lost"},
    )
    assert lost.status_code == 200, lost.text
    assert _snapshot(db, kiosk)["staff_cards"] == {
        digest: {"id": card_id, "role": "technician", "status": "lost"}
    }
    audit = client.get(
        "/v1/audit",
        params={"action": "staff_card_status"},
        headers={"Authorization": f"Bearer {token_for(db, 'auditor')}"},
    ).json()
    assert audit[0]["before"] == {"status": "active"}
    assert audit[0]["subject"] == f"staff_card:{card_id}"


@sqlite_only
def test_refusals(client: TestClient, db: Database, manager: dict[str, str]) -> None:
    with db.write() as conn:
        registry.add_credential(conn, unit="A-0101", kind="card", value="R0101")

    def issue(card: str, staff: str, headers: dict[str, str] = manager) -> tuple[int, str]:
        answer = client.post(
            "/v1/terminals/staff-cards", json={"card_number": card, "staff": staff},
            headers={**headers, "Idempotency-Key": f"{card}-{staff}"},
        )  # fmt: skip
        error = answer.json().get("error", {}) if answer.status_code >= 400 else {}
        return answer.status_code, error.get("code", "")

    assert issue("R0101", "technician") == (409, "card_in_use")  # a resident's card
    assert issue("T1", "nobody") == (404, "unknown_staff")
    assert issue("T2", "cashier") == (422, "not_a_technician")
    assert issue("T12345678901234567", "technician")[0] == 422  # longer than the card's file
    cashier = {"Authorization": f"Bearer {token_for(db, 'cashier')}"}
    assert issue("T3", "technician", cashier)[0] == 403
    assert issue("T4", "technician") == (201, "")
    assert issue("T4", "boss") == (409, "card_in_use")
