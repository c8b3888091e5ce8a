"""The journal file itself: durability settings, gapless sequence, chain, no edits."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from domain import journal as dj
from domain import signing
from offline_queue.errors import JournalError
from offline_queue.identity import Identity
from offline_queue.journal import Journal


@pytest.fixture
def local(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "j.sqlite3", Identity.generate("kiosk-001"))


def test_synchronous_is_full_and_the_log_is_write_ahead(local: Journal) -> None:
    # A SIGKILL leaves the page cache intact, so the crash test cannot tell NORMAL
    # from FULL: only FULL fsyncs the log at each commit and survives a power cut.
    assert local.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert local.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    local.close()
    again = Journal(local.path, local.identity)
    assert again.conn.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_entries_chain_and_verify(local: Journal) -> None:
    first = local.append("top_up", {"amount": 100})
    second = local.append("gate_open", {"gate": "north"})
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == dj.GENESIS_HASH
    assert second.prev_hash == first.hash
    assert second.computed_hash("kiosk-001") == second.hash
    public = local.identity.private_key.public_key()
    public.verify(signing.unb64(second.signature), dj.signed_message(second.hash))
    assert local.verify_chain() == []
    assert local.entries() == [first, second]


def test_entries_are_never_edited_or_deleted(local: Journal) -> None:
    local.append("top_up", {"amount": 100})
    with pytest.raises(sqlite3.IntegrityError, match="never edited"):
        local.conn.execute("UPDATE entries SET body = '{}' WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        local.conn.execute("DELETE FROM entries WHERE seq = 1")


def test_the_sequence_has_no_gaps_under_concurrent_appends(local: Journal) -> None:
    def work() -> None:
        with Journal(local.path, local.identity) as mine:
            for _ in range(25):
                mine.append("note", {"text": "x"})

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [e.seq for e in local.entries()] == list(range(1, 101))
    assert local.verify_chain() == []


def test_a_journal_never_changes_hands(local: Journal) -> None:
    local.close()
    with pytest.raises(JournalError, match="never changes hands"):
        Journal(local.path, Identity.generate("kiosk-002"))


def test_an_unknown_kind_is_refused(local: Journal) -> None:
    with pytest.raises(JournalError):
        local.append("free_money", {})
    assert local.head() == 0


def test_the_servers_head_is_the_truth_even_backwards(local: Journal) -> None:
    for _ in range(3):
        local.append("note", {"text": "x"})
    local.record_answer(head_seq=3, results=[{"seq": s, "verdict": "applied"} for s in (1, 2, 3)])
    assert local.backlog() == 0
    local.record_answer(head_seq=1, results=[])  # the server was restored from a backup
    assert local.synced_seq == 1
    assert [e.seq for e in local.unsent(10)] == [2, 3]
    assert local.state_of(2) == "pending"
