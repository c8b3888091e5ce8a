"""Appending and syncing against the real server in-process: verdicts, duplicates, restarts."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from central.db.database import Database
from offline_queue.client import SignedClient
from offline_queue.journal import Journal
from offline_queue.sync import SyncClient
from tests.offline_queue import support


def test_entries_are_applied_once_and_answered(
    journal: Journal, sync: SyncClient, ledger: Database
) -> None:
    tid = journal.identity.terminal_id
    for _ in range(5):
        journal.append("top_up", support.cash(tid))
    journal.append("gate_open", {"gate": "north", "unit": "A-0101"})
    assert journal.backlog() == 6
    result = sync.sync_once()
    assert (result.applied, result.rejected, result.duplicate) == (6, 0, 0)
    assert journal.backlog() == 0
    assert journal.state_of(1) == "applied"
    assert support.ledger_count(ledger, tid) == {s: 1 for s in range(1, 6)}
    assert support.balance(ledger, f"cash_box:{tid}") == -5000


def test_a_lost_answer_is_resent_and_answered_duplicate(
    journal: Journal, sync: SyncClient, network: support.Network, ledger: Database
) -> None:
    tid = journal.identity.terminal_id
    for _ in range(3):
        journal.append("top_up", support.cash(tid))
    network.lose_answers = 1
    assert sync.attempt() is None
    assert journal.backlog() == 3
    result = sync.sync_once()
    assert result.duplicate == 3
    assert support.ledger_count(ledger, tid) == {1: 1, 2: 1, 3: 1}


def test_a_refused_entry_stays_and_is_reported(
    journal: Journal, sync: SyncClient, ledger: Database
) -> None:
    tid = journal.identity.terminal_id
    journal.append("charge", {**support.cash(tid, 10**9), "method": None} | {"service": "gym"})
    journal.append("top_up", support.cash(tid))
    result = sync.sync_once()
    assert result.rejected == 1
    assert result.applied == 1
    rejections = journal.rejections()
    assert [r["seq"] for r in rejections] == [1]
    assert journal.status().rejections == 1


def test_restart_resumes(tmp_path: Path, journal: Journal, network: support.Network) -> None:
    tid = journal.identity.terminal_id
    for _ in range(7):
        journal.append("top_up", support.cash(tid))
    SyncClient(journal, SignedClient(journal.identity, network), batch_size=3).sync_once(
        max_batches=1
    )
    journal.close()
    with Journal(journal.path, journal.identity) as again:
        assert again.synced_seq == 3
        result = SyncClient(again, SignedClient(again.identity, network), batch_size=3).sync_once()
        assert result.applied == 4
        assert result.duplicate == 0


def test_a_background_sync_loop_beside_the_screen(
    journal: Journal, network: support.Network, ledger: Database
) -> None:
    tid = journal.identity.terminal_id
    sync = SyncClient(journal, SignedClient(journal.identity, network), batch_size=7)
    stop = threading.Event()
    loop = threading.Thread(target=sync.run, args=(stop,), kwargs={"idle_s": 0.01})
    loop.start()
    try:
        for _ in range(40):
            journal.append("top_up", support.cash(tid, 10))
        deadline = time.monotonic() + 60
        while journal.backlog() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        loop.join()
    assert journal.backlog() == 0
    assert support.ledger_count(ledger, tid) == {s: 1 for s in range(1, 41)}
