"""Snapshots (incremental, no personal data, encrypted at rest) and offline
authorisation within the server's limits; a partition that converges."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from central.db.database import Database
from central.db.schema import accounts
from central.estate import registry
from central.terminals import config as terminal_config
from domain import journal as dj
from offline_queue import authorise
from offline_queue.client import SignedClient
from offline_queue.identity import Identity
from offline_queue.journal import Journal
from offline_queue.snapshot import Snapshot, SnapshotStore
from offline_queue.sync import SyncClient
from tests.offline_queue import support

LIMITS = {"per_transaction": 2000, "per_credential_per_day": 6000, "per_terminal": 8000}


def _available(db: Database, unit: str, purpose: str) -> int:
    with db.read() as conn:
        row = conn.execute(
            select(accounts.c.balance, accounts.c.held, accounts.c.floor).where(
                accounts.c.code == f"wallet:{unit}:{purpose}"
            )
        ).one()
    return int(row.balance) - int(row.held) - int(row.floor or 0)


@pytest.fixture
def card(ledger: Database, identity: Identity) -> int:
    with ledger.write() as conn:
        registry.add_resident(conn, unit="A-0101", name="Zhang Wei", phone="+86 138 0000 0001")
        card_id = registry.add_credential(conn, unit="A-0101", kind="card", value="04-A1-B2-C3")
        terminal_config.put(
            conn,
            identity.terminal_id,
            {**terminal_config.default_config("kiosk"), "offline_limits": LIMITS},
            base_version=None,
            actor="staff:boss",
        )
    return card_id


def test_snapshot_full_then_incremental_no_personal_data_encrypted(
    journal: Journal, sync: SyncClient, ledger: Database, card: int
) -> None:
    tid = journal.identity.terminal_id
    store = SnapshotStore(journal)
    first = store.pull(sync.client)
    assert first.data["full"] is True
    digest = first.credential_hash("card", "04a1b2c3")  # as a reader gives it
    assert first.unit_of(digest) == "A-0101"
    assert first.available("A-0101", "services") == _available(ledger, "A-0101", "services")
    assert first.limits == LIMITS
    text = json.dumps(first.data)
    for personal in ("Zhang", "138 0000", "04A1B2C3", "04-A1"):
        assert personal not in text
    raw = sqlite3.connect(journal.path).execute("SELECT ciphertext FROM snapshot").fetchone()[0]
    assert b"A-0101" not in raw
    assert first.data["hash_key"].encode() not in raw

    # A top-up lands and the card is revoked: the next pull carries only that.
    journal.append("top_up", {**support.cash(tid, 3000), "wallet": "services"})
    sync.sync_once()
    with ledger.write() as conn:
        registry.set_credential_status(conn, card, "revoked")
    second = store.pull(sync.client)
    assert second.data["full"] is False
    assert second.is_revoked(digest)
    assert second.unit_of(digest) is None
    assert second.available("A-0101", "services") == _available(ledger, "A-0101", "services")
    assert second.available("A-0101", "water") == first.available("A-0101", "water")  # kept
    refused = authorise.decide(
        second, journal, credential_kind="card", credential="04A1B2C3", purpose="services",
        amount=100,
    )  # fmt: skip
    assert (refused.allowed, refused.reason) == (False, "revoked")


def _snapshot(journal: Journal, **over: Any) -> Snapshot:
    key = "11" * 32
    data: dict[str, Any] = {
        "version": 1,
        "journal_head": journal.synced_seq,
        "hash_key": key,
        "timezone": "Asia/Shanghai",
        "credentials": {dj.credential_hash(key, "card", "C1"): {"unit": "A-0101", "kind": "card"}},
        "revoked": [dj.credential_hash(key, "card", "LOST")],
        "balances": {"A-0101": {"services": 5000}},
        "offline_limits": LIMITS,
    }
    data.update(over)
    return Snapshot(data)


def _charge(snapshot: Snapshot, journal: Journal, amount: int, card: str = "C1") -> str:
    return authorise.charge_offline(
        snapshot, journal, credential_kind="card", credential=card, purpose="services",
        amount=amount, currency="CNY", service="gym",
    ).reason  # fmt: skip


def test_offline_limits(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3", Identity.generate("kiosk-009")) as journal:
        snap = _snapshot(journal)
        assert _charge(snap, journal, 100, card="NOPE") == "unknown_credential"
        assert _charge(snap, journal, 100, card="LOST") == "revoked"
        assert _charge(snap, journal, 2001) == "over_per_transaction"
        outcomes = [_charge(snap, journal, 2000) for _ in range(3)]
        assert outcomes == ["ok", "ok", "insufficient_funds"]  # 5000 available
        rich = _snapshot(journal, balances={"A-0101": {"services": 10**6}})
        assert _charge(rich, journal, 2000) == "ok"
        assert _charge(rich, journal, 1) == "over_per_credential_per_day"  # 6000 today
        other = dj.credential_hash("11" * 32, "card", "C2")
        richer = _snapshot(
            journal,
            balances={"A-0101": {"services": 10**6}},
            credentials={
                dj.credential_hash("11" * 32, "card", "C1"): {"unit": "A-0101", "kind": "card"},
                other: {"unit": "A-0101", "kind": "card"},
            },
        )
        assert _charge(richer, journal, 2000, card="C2") == "ok"  # 8000 exposed
        assert _charge(richer, journal, 1, card="C2") == "over_per_terminal"
        # Cash is always taken, whatever the limits, and waits as pending.
        entry = authorise.accept_cash(
            journal, unit="A-0101", purpose="water", amount=10**6, currency="CNY"
        )
        assert journal.state_of(entry.seq) == "pending"
    assert authorise.payment_methods(online=False) == ("cash",)
    assert "provider" in authorise.payment_methods(online=True)


def test_partition_terminal_works_within_limits_and_converges(
    journal: Journal, sync: SyncClient, network: support.Network, ledger: Database, card: int
) -> None:
    tid = journal.identity.terminal_id
    journal.append("top_up", {**support.cash(tid, 10_000), "wallet": "services"})
    sync.sync_once()
    snap = SnapshotStore(journal).pull(sync.client)
    before = _available(ledger, "A-0101", "services")

    network.up = False  # the server is gone for a while
    outcomes = [_charge(snap, journal, 1500, card="04A1B2C3") for _ in range(5)]
    assert outcomes == ["ok"] * 4 + ["over_per_credential_per_day"]
    cash = authorise.accept_cash(
        journal, unit="A-0102", purpose="water", amount=5000, currency="CNY"
    )
    delays = []
    for _ in range(4):
        assert sync.attempt() is None
        delays.append(sync.next_delay())
    assert delays[-1] > delays[0]  # backing off
    assert journal.state_of(cash.seq) == "pending"
    assert journal.status().last_error is not None

    network.up = True  # back; and its first answer is lost after it applied the batch
    network.lose_answers = 1
    assert sync.attempt() is None
    result = sync.attempt()
    assert result is not None
    assert result.ok
    assert result.duplicate == 5  # applied the first time, answered again
    assert journal.backlog() == 0
    assert journal.state_of(cash.seq) == "applied"
    assert support.ledger_count(ledger, tid) == {s: 1 for s in range(1, 7)}
    assert _available(ledger, "A-0101", "services") == before - 6000
    again = SnapshotStore(journal).pull(sync.client)
    assert again.journal_head == 6
    assert again.available("A-0101", "services") == before - 6000


def test_a_gate_snapshot_holds_parking_passes_and_tariffs(
    tmp_path: Path, ledger: Database, network: support.Network
) -> None:
    from central.estate.settings import load
    from central.ledger.operations import Context, top_up
    from central.parking import passes

    gate = support.enrol(ledger, terminal_type="gate", location="North gate")
    with ledger.write() as conn:
        registry.add_credential(conn, unit="A-0102", kind="plate", value="沪A-12345")
        estate = load(conn)
        ctx = Context(estate=estate, idempotency_key="pass-topup", actor="staff:boss")
        top_up(
            conn, ctx, unit="A-0102", purpose="parking", amount=50_000, currency="CNY",
            method="staff_desk",
        )  # fmt: skip
        ctx = Context(estate=estate, idempotency_key="pass-1", actor="staff:boss")
        bought = passes.buy_pass(
            conn, ctx, unit="A-0102", period="monthly", price=30_000, plate="沪A 12345"
        )
    with Journal(tmp_path / "gate.sqlite3", gate) as journal:
        snap = SnapshotStore(journal).pull(SignedClient(gate, network))
    assert set(snap.data["balances"]["A-0102"]) == {"parking"}  # a gate serves parking only
    found = snap.parking_pass("沪A12345", bought["valid_from"])
    assert found is not None
    assert found["unit"] == "A-0102"
    assert snap.parking_pass("沪A12345", "1999-01-01") is None
    assert "沪A" not in json.dumps(snap.data, ensure_ascii=False)
