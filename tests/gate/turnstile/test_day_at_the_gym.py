"""A day at a gym turnstile: simulated taps through the whole app, the journal, the server ledger.

The readers and the relay board are simulators on ptys; the journal is the
terminal's durable journal (``offline_queue``) when it is installed; at the end
of the day the journalled charges are applied to a real server's ledger as the
sync client would hand them over (one ledger batch, a key per entry), and the
money moved equals the entries that passed, each once.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from central.api.app import create_app
from central.db.database import Database
from central.db.schema import accounts
from central.settings import Settings
from gate.cli import turnstile_main
from tests.central.conftest import migrated_template, token_for
from tests.gate.turnstile.conftest import QR_A, QR_C, UID_B, UID_REVOKED, Rig

__all__ = ["migrated_template"]


@pytest.fixture
def server(
    migrated_template: Path, tmp_path: Path
) -> Iterator[tuple[TestClient, dict[str, str], Database]]:
    path = tmp_path / "central.sqlite3"
    shutil.copyfile(migrated_template, path)
    url = f"sqlite:///{path}"
    db = Database.open(url, migrate=False)
    with TestClient(create_app(Settings(database_url=url), db)) as client:
        yield client, {"Authorization": f"Bearer {token_for(db, 'boss')}"}, db
    db.close()


def balance(db: Database, code: str) -> int:
    with db.read() as conn:
        found = conn.execute(select(accounts.c.balance).where(accounts.c.code == code))
        return int(found.scalar_one())


def test_a_day_at_the_gym(rig: Rig, server: tuple[TestClient, dict[str, str], Database]) -> None:
    client, manager, db = server
    for n, unit in enumerate(("A-0101", "A-0102")):
        body = {
            "unit": unit,
            "wallet": "services",
            "amount": 10_000,
            "currency": "CNY",
            "method": "staff_desk",
        }
        answer = client.post(
            "/v1/ledger/top-ups", json=body, headers={**manager, "Idempotency-Key": f"t{n}"}
        )
        assert answer.status_code == 201, answer.text

    day = [
        # (minutes after 07:00, who, reader, walks through)
        (0, "A-0101", QR_A, True),
        (35, "A-0102", UID_B, True),
        (60, "B-0101", QR_C, True),  # monthly pass: no charge
        (90, "A-0102", UID_B, False),  # tapped, then changed their mind
        (120, None, UID_REVOKED, False),  # a revoked fob
        (300, "A-0101", QR_A, True),
        (660, "A-0102", UID_B, True),
        (900, "A-0101", QR_A, False),  # 22:00: closed
    ]
    start = rig.clock[0].replace(hour=7)
    outcomes = []
    for minutes, _who, code, walks in day:
        rig.clock[0] = start + timedelta(minutes=minutes)
        if walks:
            rig.relay_sim.walk(1)
        if code.startswith("PP1."):
            rig.qr_sim.scan(code)
        else:
            rig.uid_sim.tap(code)
        outcomes.append(rig.until_outcome())
        time.sleep(0.25)  # the next visitor: past the readers' repeat windows
    assert [o.passed for o in outcomes] == [True, True, True, False, False, True, True, False]
    assert [o.reason for o in outcomes if not o.allowed] == ["card_revoked", "closed_now"]
    assert rig.relay_sim.passages == 5
    charges = [(kind, body) for kind, body in rig.journal.entries if kind == "charge"]
    assert [b["unit"] for _, b in charges] == ["A-0101", "A-0102", "A-0101", "A-0102"]

    # End of day: the journal's charges reach the ledger, one key per entry.
    batch = {
        "entries": [
            {"key": f"turnstile-gym-1:{n}", "operation": "charge", "body": body}
            for n, (_, body) in enumerate(charges)
        ]
    }
    answer = client.post("/v1/ledger/batch", json=batch, headers=manager)
    assert answer.status_code == 200, answer.text
    assert answer.json()["applied"] == 4
    again = client.post("/v1/ledger/batch", json=batch, headers=manager)
    assert again.json()["duplicate"] == 4  # a resent batch moves no money twice
    assert balance(db, "wallet:A-0101:services") == 10_000 - 3000
    assert balance(db, "wallet:A-0102:services") == 10_000 - 3000
    assert balance(db, "revenue:facility.gym") == 6000


def test_the_real_journal_takes_every_entry(rig: Rig, tmp_path: Path) -> None:
    journal_module = pytest.importorskip("offline_queue.journal")
    identity_module = pytest.importorskip("offline_queue.identity")
    journal = journal_module.Journal(
        tmp_path / "j.sqlite3", identity_module.Identity.generate("turnstile-gym-1")
    )
    try:
        rig.controller.journal = journal
        rig.relay_sim.walk(1)
        rig.qr_sim.scan(QR_A)
        assert rig.until_outcome().passed
        time.sleep(0.25)
        rig.uid_sim.tap(UID_REVOKED)
        rig.until_outcome()
        kinds = [e.kind for e in journal.entries()]
        assert kinds == ["gate_open", "charge", "entry_refused"]
        assert journal.verify_chain() == []
    finally:
        journal.close()


def test_demo_command(capsys: pytest.CaptureFixture[str], no_leaked_threads: None) -> None:
    assert turnstile_main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "A-0101   passed" in out
    assert "Nobody passed: nothing charged" in out
    assert "fire alarm: every relay open and held" in out
