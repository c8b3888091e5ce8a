"""Fixtures: a migrated test estate (the central tests' template), a server, a terminal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from central.db.database import Database
from offline_queue.client import SignedClient
from offline_queue.identity import Identity
from offline_queue.journal import Journal
from offline_queue.sync import SyncClient
from tests.central.conftest import migrated_template  # noqa: F401  (a fixture)
from tests.offline_queue import support


@pytest.fixture
def ledger_url(migrated_template: Path, tmp_path: Path) -> str:  # noqa: F811
    return support.copy_template(migrated_template, tmp_path)


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Database]:
    db = Database.open(ledger_url, migrate=False)
    yield db
    db.close()


@pytest.fixture
def network(ledger: Database, ledger_url: str) -> Iterator[support.Network]:
    with support.server(ledger, ledger_url) as client:
        yield support.Network(client)


@pytest.fixture
def identity(ledger: Database) -> Identity:
    return support.enrol(ledger)


@pytest.fixture
def journal(tmp_path: Path, identity: Identity) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite3", identity) as j:
        yield j


@pytest.fixture
def sync(journal: Journal, network: support.Network) -> SyncClient:
    return SyncClient(journal, SignedClient(journal.identity, network), base_delay_s=0.01)
