"""hypothesis: random interleavings of appends, syncs, lost answers, outages and
restarts keep "acknowledged = applied exactly once"."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from central.db.database import Database
from offline_queue.client import SignedClient
from offline_queue.errors import SyncError
from offline_queue.identity import Identity
from offline_queue.journal import Journal
from offline_queue.sync import SyncClient
from tests.offline_queue import support


def test_acknowledged_entries_are_applied_exactly_once(
    ledger: Database, ledger_url: str, tmp_path: Path
) -> None:
    with support.server(ledger, ledger_url) as client:
        machine = _machine(ledger, client, tmp_path)
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=30,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            ),
        )


def _machine(ledger: Database, client: TestClient, tmp_path: Path) -> type[RuleBasedStateMachine]:
    class Terminal(RuleBasedStateMachine):
        """One freshly enrolled terminal per example, on a shared ledger."""

        def __init__(self) -> None:
            super().__init__()
            self.identity: Identity = support.enrol(ledger)
            self.path = Path(tempfile.mkdtemp(dir=tmp_path)) / "journal.sqlite3"
            self.network = support.Network(client)
            self.journal = Journal(self.path, self.identity)
            self.acknowledged: dict[int, int] = {}  # seq -> amount

        def _sync(self) -> SyncClient:
            return SyncClient(self.journal, SignedClient(self.identity, self.network), batch_size=4)

        @rule(amount=st.integers(1, 5000), n=st.integers(1, 5))
        def append(self, amount: int, n: int) -> None:
            for _ in range(n):
                entry = self.journal.append(
                    "top_up", support.cash(self.identity.terminal_id, amount)
                )
                self.acknowledged[entry.seq] = amount

        @rule()
        def event(self) -> None:
            self.journal.append("gate_open", {"gate": "north"})

        @rule(batches=st.integers(1, 3))
        def sync(self, batches: int) -> None:
            try:
                self._sync().sync_once(max_batches=batches)
            except SyncError:
                assert not self.network.up or self.network.lose_answers >= 0

        @rule(lost=st.integers(1, 2))
        def lose_answers(self, lost: int) -> None:
            self.network.lose_answers = lost

        @rule()
        def outage(self) -> None:
            self.network.up = not self.network.up

        @rule()
        def restart(self) -> None:
            self.journal.close()
            self.journal = Journal(self.path, self.identity)

        @invariant()
        def never_doubled(self) -> None:
            counts = support.ledger_count(ledger, self.identity.terminal_id)
            assert all(n == 1 for n in counts.values())
            assert set(counts) <= set(self.acknowledged)

        def teardown(self) -> None:
            self.network.up, self.network.lose_answers = True, 0
            self._sync().sync_once()
            counts = support.ledger_count(ledger, self.identity.terminal_id)
            self.journal.close()
            assert counts == {seq: 1 for seq in self.acknowledged}

    return Terminal
