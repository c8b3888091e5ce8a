"""Registry import and export, move-in and move-out, erasure of personal data."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from central.db.database import Database
from central.db.schema import accounts, residents
from central.estate import csv_io
from central.ledger.check import check

UNITS = """building,number,floor,area_m2,kind
A,0301,3,77.50,flat
A,0302,3,80,flat
B,0901,9,45.25,shop
"""
BAD_UNITS = """building,number,floor,area_m2,kind
A,0401,4,77.50,flat
Z,0101,1,50,flat
A,0402,four,50,flat
A,0403,4,-3,flat
A,0404,4,60,castle
A,0401,4,77.50,flat
"""


def _h(manager: dict[str, str], key: str) -> dict[str, str]:
    return {**manager, "Idempotency-Key": key}


def test_import_reports_every_bad_row_and_imports_nothing(
    client: TestClient, manager: dict[str, str]
) -> None:
    answer = client.post("/v1/registry/units", content=BAD_UNITS.encode(), headers=manager)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "import_refused"
    message = error["message"]
    assert message.startswith("5 bad row(s), nothing imported")
    for line, reason in (
        (3, "no building 'Z'"),
        (4, "'four' is not a whole number"),
        (5, "floor area"),
        (6, "unit kind"),
        (7, "already exists"),
    ):
        assert f"line {line}: " in message
        assert reason in message, (line, message)
    units = [u["code"] for u in client.get("/v1/units", headers=manager).json()]
    assert "A-0401" not in units


def test_import_then_export_round_trips(db: Database, new_database: object) -> None:
    with db.write() as conn:
        assert csv_io.import_csv(conn, "units", UNITS) == 3
        csv_io.import_csv(
            conn,
            "residents",
            "unit,name,phone,email,language,role\n"
            "A-0301,Mei Lin,+86 139 1111 2222,mei@example.com,zh_CN,owner\n",
        )
        csv_io.import_csv(
            conn,
            "credentials",
            "unit,kind,value,status\nA-0301,card,C0301A,active\nA-0302,card,C0302A,lost\n",
        )
        csv_io.import_csv(conn, "vehicles", "unit,plate\nA-0301,沪A 88888\n")
    exported = {}
    with db.read() as conn:
        for kind in csv_io.COLUMNS:
            exported[kind] = csv_io.export_csv(conn, kind)
    assert "A,0301,3,77.50,flat" in exported["units"]
    assert "A-0302,card,C0302A,lost" in exported["credentials"]
    # Into a fresh estate (the same buildings), the export imports and exports identically.
    fresh = Database.open(new_database(), migrate=False)  # type: ignore[operator]
    try:
        with fresh.write() as conn:
            for kind in ("units", "residents", "credentials", "vehicles"):
                body = exported[kind]
                if kind == "units":  # the fresh estate already has the template's units
                    body = "\n".join(
                        line
                        for line in body.splitlines()
                        if "030" in line or "0901" in line or line.startswith("building")
                    )
                csv_io.import_csv(conn, kind, body)
        with fresh.read() as conn:
            for kind in ("residents", "credentials", "vehicles"):
                assert csv_io.export_csv(conn, kind) == exported[kind]
    finally:
        fresh.close()


def test_cli_import_reports_line_numbers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'e.sqlite3'}"
    env = {**os.environ, "PREPAID_DATABASE_URL": url, "PREPAID_LOG_LEVEL": "WARNING"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli.main", "central", *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )

    assert run("seed-demo").returncode == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "unit,name,phone\nA-0101,Good Name,+8613900000000\nZ-1,Nobody,\n", encoding="utf-8"
    )
    result = run("import", "residents", str(bad))
    assert result.returncode == 1
    assert "line 3: there is no unit 'Z-1'" in result.stderr
    out = run("export", "vehicles")
    assert out.returncode == 0
    assert out.stdout.startswith("unit,plate\n")


def _wallet(db: Database, code: str) -> int:
    with db.read() as conn:
        return int(
            conn.execute(select(accounts.c.balance).where(accounts.c.code == code)).scalar_one()
        )


def test_move_out_with_a_negative_balance(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    moved_in = client.post(
        "/v1/units/A-0102/move-in",
        json={"name": "Departing Dai", "phone": "+8613900000077"},
        headers=_h(manager, "in-1"),
    )
    assert moved_in.status_code == 201, moved_in.text
    rid = moved_in.json()["resident_id"]
    client.post(
        "/v1/credentials",
        json={"unit": "A-0102", "kind": "card", "value": "DAI-1", "resident_id": rid},
        headers=_h(manager, "card-1"),
    )
    client.post(
        "/v1/ledger/top-ups",
        json={
            "unit": "A-0102",
            "wallet": "water",
            "amount": 3000,
            "currency": "CNY",
            "method": "staff_desk",
        },
        headers=_h(manager, "t-1"),
    )
    client.post(
        "/v1/ledger/charges",
        json={"unit": "A-0102", "wallet": "electricity", "amount": 800, "currency": "CNY"},
        headers=_h(manager, "c-1"),
    )
    client.post(
        "/v1/ledger/top-ups",
        json={
            "unit": "A-0102",
            "wallet": "services",
            "amount": 500,
            "currency": "CNY",
            "method": "staff_desk",
        },
        headers=_h(manager, "t-2"),
    )
    client.post(
        "/v1/ledger/transfers",
        json={
            "unit": "A-0102",
            "from_wallet": "services",
            "to_wallet": "maintenance_fund",
            "amount": 500,
            "currency": "CNY",
        },
        headers=_h(manager, "f-1"),
    )
    out = client.post(
        "/v1/units/A-0102/move-out", json={"resident_id": rid}, headers=_h(manager, "out-1")
    )
    assert out.status_code == 201, out.text
    result = out.json()
    assert result["household_settled"] is True
    assert result["credentials_revoked"] == 1
    kinds = {s["wallet"]: (s["kind"], s["amount"], s["to"]) for s in result["settlements"]}
    assert kinds["wallet:A-0102:water"] == ("refund", 3000, "cash_desk:office")
    assert kinds["wallet:A-0102:electricity"] == ("debt_transfer", -800, f"debt:resident:{rid}")
    # The next occupant starts from zero; the debt stays with the one who left; the fund stays.
    assert _wallet(db, "wallet:A-0102:electricity") == 0
    assert _wallet(db, "wallet:A-0102:water") == 0
    assert _wallet(db, f"debt:resident:{rid}") == -800
    assert _wallet(db, "wallet:A-0102:maintenance_fund") == 500
    again = client.post(
        "/v1/units/A-0102/move-out", json={"resident_id": rid}, headers=_h(manager, "out-2")
    )
    assert again.json()["error"]["code"] == "already_moved_out"
    with db.read() as conn:
        assert check(conn).ok


def test_erasure_leaves_a_balanced_pseudonymous_ledger(
    client: TestClient, db: Database, db_url: str, manager: dict[str, str]
) -> None:
    name, phone = "Zhuang Unforgettable", "+8613912345678"
    rid = client.post(
        "/v1/units/A-0201/move-in",
        json={"name": name, "phone": phone, "email": "z@example.com"},
        headers=_h(manager, "in"),
    ).json()["resident_id"]
    client.post(
        "/v1/ledger/top-ups",
        json={
            "unit": "A-0201",
            "wallet": "gas",
            "amount": 999,
            "currency": "CNY",
            "method": "staff_desk",
        },
        headers=_h(manager, "t"),
    )
    erased = client.post(f"/v1/residents/{rid}/erase", headers=_h(manager, "erase"))
    assert erased.status_code == 200, erased.text
    with db.read() as conn:
        row = conn.execute(
            select(residents.c.name, residents.c.phone, residents.c.email).where(
                residents.c.id == rid
            )
        ).one()
        assert (row.name, row.phone, row.email) == (f"erased resident {rid}", None, None)
        assert check(conn).ok
    audit = client.get("/v1/audit", headers=manager).text
    assert name not in audit
    assert phone not in audit
    if db_url.startswith("sqlite"):
        # Fold the write-ahead log into the file, then look at every byte of it.
        path = db_url.removeprefix("sqlite:///")
        db.engine.dispose()
        with sqlite3.connect(path) as raw_conn:
            raw_conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw = Path(path).read_bytes()
        assert name.encode() not in raw
        assert phone.encode() not in raw
