"""Crash: a child appends and syncs and is killed with SIGKILL at 200 random moments.

The child journals cash top-ups and syncs them to the server, which runs inside
the same child (so a kill also lands in the middle of the server's apply, with
its ledger transaction open). It reports each acknowledgement on a pipe the
moment ``append`` returns, and marks the phase it enters (append, upload, the
server's apply, recording the answer), so the parent knows what each kill hit.
After every kill a new child reopens both databases and carries on. At the end
the ledger must hold every acknowledged entry exactly once: zero lost, zero
doubled.
"""

from __future__ import annotations

import os
import random
import select
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from central.api.app import create_app
from central.db.database import Database
from central.journal import service
from central.ledger.check import check
from central.settings import Settings
from offline_queue.client import SignedClient
from offline_queue.identity import Identity
from offline_queue.journal import Journal
from offline_queue.sync import SyncClient
from tests.offline_queue import support

KILLS = 200

PHASES = {b"a": "append", b"u": "upload", b"v": "server apply", b"r": "record answer"}


def _child(fd: int, journal_path: Path, identity: Identity, app: FastAPI, seed: int) -> None:
    """Runs in the forked child until it is killed. ``app`` comes warm from the parent
    (its engine's pool emptied before the fork, so no connection is shared)."""

    def say(data: bytes) -> None:
        os.write(fd, data)

    rng = random.Random(seed)
    real_receive = service.receive

    def receive(*args: Any, **kwargs: Any) -> service.Receipt:
        say(b"v\n")
        receipt = real_receive(*args, **kwargs)
        say(b"r\n")  # from here the answer travels back and is recorded
        return receipt

    service.receive = receive  # type: ignore[assignment]
    network = support.Network(TestClient(app).__enter__())

    def transport(method: str, path: str, body: bytes, headers: dict[str, str]) -> Any:
        say(b"u\n")
        return network(method, path, body, headers)

    journal = Journal(journal_path, identity)
    sync = SyncClient(journal, SignedClient(identity, transport), batch_size=20)
    while True:
        for _ in range(rng.randint(1, 6)):
            say(b"a\n")
            entry = journal.append("top_up", support.cash(identity.terminal_id, 100))
            say(f"{entry.seq}\n".encode())
        sync.sync_once()


def _round(
    journal_path: Path,
    identity: Identity,
    app: FastAPI,
    *,
    seed: int,
    target: bytes | None,
    nth: int,
    delay_s: float,
) -> list[bytes]:
    """One child's life: killed ``delay_s`` after its ``nth`` ``target`` marker (or after
    ``delay_s`` from its start when there is no target)."""
    read_fd, write_fd = os.pipe()
    app.state.db.engine.dispose()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        os.close(read_fd)
        try:
            _child(write_fd, journal_path, identity, app, seed)
        finally:
            os._exit(1)
    os.close(write_fd)
    buffer = b""
    seen = 0
    deadline = time.monotonic() + (delay_s if target is None else 30)
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([read_fd], [], [], left)
        if not ready:
            continue
        data = os.read(read_fd, 65536)
        if not data:
            break
        before = buffer.count(b"\n")
        buffer += data
        if target is not None and seen < nth:
            seen += buffer.split(b"\n")[before:-1].count(target)
            if seen >= nth:
                deadline = time.monotonic() + delay_s
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    while data := os.read(read_fd, 65536):
        buffer += data
    os.close(read_fd)
    assert os.WIFSIGNALED(status), "the child stopped by itself: it failed"
    return buffer.split(b"\n")


@pytest.mark.slow
def test_sigkill_at_200_random_moments_loses_and_doubles_nothing(
    tmp_path: Path, ledger: Database, ledger_url: str, identity: Identity
) -> None:
    journal_path = tmp_path / "journal.sqlite3"
    rng = random.Random(20261125)
    acknowledged: set[int] = set()
    phases: Counter[str] = Counter()
    app = create_app(Settings(database_url=ledger_url), Database.open(ledger_url, migrate=False))
    with TestClient(app) as client, Journal(journal_path, identity) as journal:
        # Warm the app up in the parent: every child inherits its compiled queries.
        journal.append("top_up", support.cash(identity.terminal_id, 100))
        SyncClient(journal, SignedClient(identity, support.Network(client))).sync_once()
        acknowledged.add(1)
    started = time.monotonic()
    for i in range(KILLS):
        # A quarter of the kills at a moment picked by the clock alone, the others
        # a random instant after the child entered an append, the server's apply,
        # or the recording of the answer.
        target = rng.choice([None, b"a", b"v", b"r"])
        lines = _round(
            journal_path,
            identity,
            app,
            seed=i,
            target=target,
            nth=rng.randint(1, 6) if target == b"a" else rng.randint(1, 2),
            delay_s=rng.uniform(0.01, 0.3) if target is None else rng.uniform(0, 0.004),
        )
        last = "start"
        for line in lines:
            if line.isdigit():
                acknowledged.add(int(line))
            elif line in PHASES:
                last = PHASES[line]
        phases[last] += 1
    elapsed = time.monotonic() - started

    # Recovery: a terminal that restarts once more and syncs everything.
    with support.server(ledger, ledger_url) as client, Journal(journal_path, identity) as journal:
        assert journal.verify_chain() == []
        SyncClient(journal, SignedClient(identity, support.Network(client))).sync_once()
        assert journal.backlog() == 0
        head = journal.head()
    counts = support.ledger_count(ledger, identity.terminal_id)
    lost = sorted(acknowledged - counts.keys())
    doubled = sorted(s for s, n in counts.items() if n != 1)
    print(
        f"\n{KILLS} kills in {elapsed:.1f} s; kill landed in: {dict(phases)}; "
        f"{len(acknowledged)} acknowledged, {head} journalled"
    )
    assert lost == []
    assert doubled == []
    assert set(counts) == set(range(1, head + 1))  # nothing unacknowledged was invented either
    assert support.balance(ledger, f"cash_box:{identity.terminal_id}") == -100 * head
    with ledger.read() as conn:
        assert check(conn).ok
    assert len(acknowledged) > KILLS  # the kills did not stop the work
    for phase in ("append", "server apply", "record answer"):
        assert phases[phase] > 0, phases
