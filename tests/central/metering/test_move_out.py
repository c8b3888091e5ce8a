"""A household leaving a unit with meters: final readings charged, then settled."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from central.db.database import Database
from central.db.schema import accounts
from central.metering.service import MeteringService
from tests.central.metering.conftest import pay


def _balance(db: Database, code: str) -> int:
    with db.read() as conn:
        return int(
            conn.execute(select(accounts.c.balance).where(accounts.c.code == code)).scalar_one()
        )


def test_move_out_charges_the_final_readings_then_settles(
    client: TestClient, db: Database, manager: dict[str, str], service: MeteringService
) -> None:
    rid = client.post(
        "/v1/units/A-0101/move-in",
        json={"name": "Leaving Lu"},
        headers={**manager, "Idempotency-Key": "in"},
    ).json()["resident_id"]
    pay(db, "A-0101", "electricity", 10000, "pay-e")
    out = {"resident_id": rid}
    missing = client.post(
        "/v1/units/A-0101/move-out", json=out, headers={**manager, "Idempotency-Key": "o1"}
    )
    assert missing.status_code == 409
    assert missing.json()["error"]["code"] == "final_readings_required"
    assert "E-1" in missing.json()["error"]["message"]
    final = {"E-1": "100", "W-1": "5", "G-1": "2"}
    done = client.post(
        "/v1/units/A-0101/move-out",
        json={**out, "final_readings": final},
        headers={**manager, "Idempotency-Key": "o2"},
    )
    assert done.status_code == 201, done.text
    result = done.json()
    assert {r["serial"]: r["verdict"] for r in result["final_readings"]} == {
        "E-1": "charged",
        "G-1": "charged",
        "W-1": "charged",
    }
    electricity = next(
        s for s in result["settlements"] if s["wallet"] == "wallet:A-0101:electricity"
    )
    charged = next(r["amount"] for r in result["final_readings"] if r["serial"] == "E-1")
    # 100 kWh at 0.6173 CNY is 61.73: whole fen charged now, a sub-fen remainder may
    # stay carried on the meter; the rest of the wallet is refunded.
    assert 6172 <= charged <= 6173
    assert electricity == {**electricity, "kind": "refund", "amount": 10000 - charged}
    assert _balance(db, "wallet:A-0101:electricity") == 0
