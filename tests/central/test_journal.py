"""The journal endpoint on SQLite and PostgreSQL: exactly once, verdicts, the day's
report, incidents, and a decommissioned terminal's journal landing to its last entry."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from central.db.database import Database
from central.terminals import lifecycle
from offline_queue.client import SignedClient
from offline_queue.errors import SyncRefused
from offline_queue.journal import Journal
from offline_queue.sync import SyncClient
from tests.central.conftest import ESTATE
from tests.offline_queue import support


def test_upload_report_and_incidents(
    client: TestClient, db: Database, manager: dict[str, str], tmp_path: Path
) -> None:
    identity = support.enrol(db)
    tid = identity.terminal_id
    network = support.Network(client)
    with Journal(tmp_path / "j.sqlite3", identity) as journal:
        for amount in (1000, 2000):
            journal.append("top_up", support.cash(tid, amount))
        journal.append("top_up", {**support.cash(tid, 500), "wallet": "nonsense"})
        journal.append("gate_open", {"gate": "north"})
        sync = SyncClient(journal, SignedClient(identity, network), batch_size=3)
        result = sync.sync_once()
        assert (result.applied, result.rejected) == (3, 1)
        assert SyncClient(journal, SignedClient(identity, network)).sync_once().sent == 0
    assert support.ledger_count(db, tid) == {1: 1, 2: 1}
    assert support.balance(db, f"cash_box:{tid}") == -3000
    head = client.get(f"/v1/terminals/{tid}/journal/head", headers=manager).json()
    assert head == {
        "terminal_id": tid,
        "head_seq": 4,
        "head_hash": head["head_hash"],
        "rejected": 1,
        "incidents": 0,
    }
    today = datetime.now(UTC).astimezone(ZoneInfo(ESTATE.timezone)).date().isoformat()
    day = client.get(
        f"/v1/terminals/{tid}/journal/report", params={"day": today}, headers=manager
    ).json()
    assert day["entries"] == 4
    assert day["events"] == 1
    assert day["journal_totals"] == {"top_up": 3500}
    assert day["applied_totals"] == {"top_up": 3000}
    assert [d["difference"] for d in day["differences"]] == ["rejected"]
    assert client.get(f"/v1/terminals/{tid}/journal/incidents", headers=manager).json() == []


def test_a_decommissioned_terminal_lands_its_journal_up_to_its_last_entry(
    client: TestClient, db: Database, tmp_path: Path
) -> None:
    identity = support.enrol(db)
    tid = identity.terminal_id
    network = support.Network(client)
    with Journal(tmp_path / "j.sqlite3", identity) as journal:
        for _ in range(3):
            journal.append("top_up", support.cash(tid, 100))
        with db.write() as conn:
            lifecycle.decommission(conn, tid, last_entry=3)
        journal.append("top_up", support.cash(tid, 100))  # after the decommission: not accepted
        sync = SyncClient(journal, SignedClient(identity, network))
        result = sync.sync_once()
        assert result.applied == 3
        assert journal.rejections()[0]["code"] == "terminal_retired"
        assert support.ledger_count(db, tid) == {1: 1, 2: 1, 3: 1}
        with pytest.raises(SyncRefused) as refused:  # its journal is in: its keys are dead
            sync.sync_once()
        assert refused.value.code == "key_dead"


def test_a_journalled_pass_use_counts_the_visit_down_once(
    client: TestClient, db: Database, manager: dict[str, str], tmp_path: Path
) -> None:
    from datetime import timedelta

    from central.facilities import service
    from central.ledger.plans import Context as LedgerContext

    client.post(
        "/v1/facilities",
        json={"code": "pool", "name": "Pool", "kind": "pool", "pricing": "pass_only"},
        headers={**manager, "Idempotency-Key": "f1"},
    )
    client.post(
        "/v1/facilities/pool/pass-products",
        json={"code": "pool-2", "kind": "visits", "price": "20", "visits": 2, "valid_days": 30},
        headers={**manager, "Idempotency-Key": "f2"},
    )
    client.post(
        "/v1/ledger/top-ups",
        json={
            "unit": "A-0101",
            "wallet": "services",
            "amount": 5000,
            "currency": "CNY",
            "method": "staff_desk",
        },
        headers={**manager, "Idempotency-Key": "f3"},
    )
    today = datetime.now(UTC).astimezone(ZoneInfo(ESTATE.timezone)).date()
    with db.write() as conn:
        service.buy_pass(
            conn,
            LedgerContext(ESTATE, "buy", "test"),
            unit="A-0101",
            product="pool-2",
            start=today - timedelta(days=1),
        )
    identity = support.enrol(db)
    network = support.Network(client)
    with Journal(tmp_path / "j.sqlite3", identity) as journal:
        journal.append("pass_use", {"facility": "pool", "unit": "A-0101", "credential": "x"})
        journal.append("pass_use", {"facility": "pool"})  # names no unit: rejected, kept
        result = SyncClient(journal, SignedClient(identity, network)).sync_once()
        assert (result.applied, result.rejected) == (1, 1)
        assert journal.rejections()[0]["code"] == "malformed_entry"
    with db.read() as conn:
        passes = service.snapshot_passes(conn, today=today)
    assert passes["A-0101"]["pool"]["visits_left"] == 1
