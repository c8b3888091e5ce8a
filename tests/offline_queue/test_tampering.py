"""Tampering: an entry edited in the file, one deleted, a replayed batch, a batch
signed by another terminal. Each is rejected and reported, nothing else is lost."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from central.db.database import Database
from central.journal import service
from domain import journal as dj
from domain import signing
from offline_queue.client import Answer, SignedClient
from offline_queue.identity import Identity
from offline_queue.journal import Journal
from offline_queue.sync import SyncClient
from tests.offline_queue import support


def _raw(path: Path) -> sqlite3.Connection:
    """The file opened as an attacker would: the guarding triggers dropped."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER entries_never_edited")
    conn.execute("DROP TRIGGER entries_never_deleted")
    return conn


def _incidents(db: Database, terminal_id: str) -> list[str]:
    with db.read() as conn:
        return [i["code"] for i in service.incidents(conn, terminal_id)]


def test_an_entry_edited_in_the_file_is_rejected(
    journal: Journal, sync: SyncClient, ledger: Database
) -> None:
    tid = journal.identity.terminal_id
    for _ in range(3):
        journal.append("top_up", support.cash(tid, 1000))
    raw = _raw(journal.path)
    raw.execute("UPDATE entries SET body = ? WHERE seq = 2", (json.dumps(support.cash(tid, 9000)),))
    raw.close()
    assert journal.verify_chain() == ["entry 2 was edited"]
    result = sync.sync_once()
    assert result.applied == 1
    assert result.blocked is not None
    assert "hash_mismatch" in result.blocked
    assert support.ledger_count(ledger, tid) == {1: 1}
    assert _incidents(ledger, tid) == ["hash_mismatch"]
    assert {r["seq"]: r["code"] for r in journal.rejections()} == {
        2: "hash_mismatch",
        3: "after_break",
    }
    assert journal.status().blocked is not None


def test_an_edit_with_the_hash_recomputed_fails_the_signature(
    journal: Journal, sync: SyncClient, ledger: Database
) -> None:
    tid = journal.identity.terminal_id
    for _ in range(3):
        journal.append("top_up", support.cash(tid, 1000))
    last = journal.entries()[-1]
    forged_body = support.cash(tid, 9000)
    forged_hash = dj.entry_hash(
        terminal_id=tid,
        seq=3,
        entry_id=last.entry_id,
        prev_hash=last.prev_hash,
        terminal_ms=last.terminal_ms,
        server_ms=last.server_ms,
        kind=last.kind,
        body=forged_body,
    )
    raw = _raw(journal.path)
    raw.execute(
        "UPDATE entries SET body = ?, hash = ? WHERE seq = 3",
        (json.dumps(forged_body), forged_hash),
    )
    raw.close()
    result = sync.sync_once()
    assert result.applied == 2
    assert support.ledger_count(ledger, tid) == {1: 1, 2: 1}
    assert _incidents(ledger, tid) == ["bad_signature"]
    assert journal.rejections()[0]["code"] == "bad_signature"


def test_a_deleted_entry_is_a_gap(journal: Journal, sync: SyncClient, ledger: Database) -> None:
    tid = journal.identity.terminal_id
    for _ in range(3):
        journal.append("top_up", support.cash(tid, 1000))
    raw = _raw(journal.path)
    raw.execute("DELETE FROM entries WHERE seq = 2")
    raw.close()
    assert journal.verify_chain() == ["entry 2 is missing (next is 3)"]
    result = sync.sync_once()
    assert result.applied == 1
    assert result.blocked is not None
    assert "sequence_gap" in result.blocked
    assert support.ledger_count(ledger, tid) == {1: 1}
    assert _incidents(ledger, tid) == ["sequence_gap"]


def test_a_replayed_batch_applies_nothing_twice(
    journal: Journal, network: support.Network, ledger: Database
) -> None:
    tid = journal.identity.terminal_id
    captured: list[tuple[str, str, bytes, dict[str, str]]] = []

    def recording(method: str, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        captured.append((method, path, body, headers))
        return network(method, path, body, headers)

    for _ in range(2):
        journal.append("top_up", support.cash(tid, 1000))
    SyncClient(journal, SignedClient(journal.identity, recording)).sync_once()
    method, path, body, headers = captured[0]
    # The very same request again: its nonce was used.
    replay = network(method, path, body, headers)
    assert replay.status == 401
    assert replay.json()["error"]["code"] == "replayed_nonce"
    # The same entries freshly signed (what a terminal resending does): duplicates.
    again = SignedClient(journal.identity, network).call("POST", path, json.loads(body))
    assert [r["verdict"] for r in again.json()["results"]] == ["duplicate", "duplicate"]
    assert support.ledger_count(ledger, tid) == {1: 1, 2: 1}
    assert support.balance(ledger, f"cash_box:{tid}") == -2000


def test_a_batch_signed_by_another_terminal_is_rejected(
    tmp_path: Path, journal: Journal, network: support.Network, ledger: Database
) -> None:
    victim = journal.identity.terminal_id
    intruder = support.enrol(ledger, location="Lobby B")
    # 1. The intruder's signed request for the victim's journal: refused outright.
    with Journal(tmp_path / "forged.sqlite3", Identity(victim, intruder.private_key)) as forged:
        forged.append("top_up", support.cash(victim, 5000))
        entries = [e.to_wire() for e in forged.entries()]
    client = SignedClient(intruder, network)
    body = json.dumps({"entries": entries}).encode()
    headers = client.headers("POST", dj.journal_path(victim), body)
    headers[signing.TERMINAL_ID_HEADER] = intruder.terminal_id
    answer = network("POST", dj.journal_path(victim), body, headers)
    assert answer.status == 403
    assert answer.json()["error"]["code"] == "terminal_mismatch"
    # 2. Entries made for the victim but signed with the intruder's key, arriving
    #    under the victim's name (a stolen transport): the entry signature fails.
    with ledger.write() as conn:
        receipt = service.receive(
            conn,
            terminal_id=victim,
            entries=[dj.Entry.from_wire(e) for e in entries],
            ledger=_ledger(ledger),
        )
    assert [r.code for r in receipt.results] == ["bad_signature"]
    assert _incidents(ledger, victim) == ["bad_signature"]
    assert support.ledger_count(ledger, victim) == {}
    # Nothing else lost: the victim's own journal still lands.
    journal.append("top_up", support.cash(victim, 1000))
    result = SyncClient(journal, SignedClient(journal.identity, network)).sync_once()
    assert result.applied == 1
    assert support.ledger_count(ledger, victim) == {1: 1}


def _ledger(db: Database) -> service.Ledger:
    from central.api.routes_ledger import BATCH_OPERATIONS, BATCH_PLANNERS
    from central.estate import settings as estate_settings

    with db.read() as conn:
        estate = estate_settings.load(conn)
    return service.Ledger(estate, BATCH_PLANNERS, BATCH_OPERATIONS)
