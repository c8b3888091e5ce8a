"""Partition against the real thing: ``prepaid central serve`` in its own process,
stopped while the terminal keeps working, started again; everything converges."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.harness import central_server
from central.db.database import Database
from offline_queue import authorise
from offline_queue.client import RequestsTransport, SignedClient
from offline_queue.identity import Identity
from offline_queue.journal import Journal
from offline_queue.sync import SyncClient
from tests.offline_queue import support


@pytest.mark.slow
def test_the_server_stops_and_returns(
    tmp_path: Path, ledger: Database, ledger_url: str, identity: Identity
) -> None:
    tid = identity.terminal_id
    with Journal(tmp_path / "journal.sqlite3", identity) as journal:
        with central_server(ledger_url) as port:
            transport = RequestsTransport(f"http://127.0.0.1:{port}", timeout=10)
            sync = SyncClient(journal, SignedClient(identity, transport), base_delay_s=0.01)
            authorise.accept_cash(
                journal, unit="A-0101", purpose="water", amount=100, currency="CNY"
            )
            assert sync.sync_once().applied == 1
        # The server is gone: the terminal takes cash and records events all the same.
        for _ in range(5):
            authorise.accept_cash(
                journal, unit="A-0102", purpose="water", amount=200, currency="CNY"
            )
        journal.append("gate_open", {"gate": "north"})
        assert sync.attempt() is None
        assert sync.attempt() is None
        assert sync.failures == 2
        status = journal.status()
        assert status.backlog == 6
        assert status.last_error is not None
        with central_server(ledger_url) as port:  # back, on another port
            transport.base_url = f"http://127.0.0.1:{port}"
            result = sync.attempt()
            assert result is not None
            assert result.applied == 6
            assert sync.failures == 0
        transport.close()
        assert journal.backlog() == 0
    assert support.ledger_count(ledger, tid) == {s: 1 for s in range(1, 7)}
    assert support.balance(ledger, f"cash_box:{tid}") == -1100
