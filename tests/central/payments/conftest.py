"""Fixtures: the sandbox provider process, a central server on a socket over this
test's database (SQLite and PostgreSQL), and an enrolled kiosk's payment side."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from central.api.app import create_app
from central.db.database import Database
from central.payments.provider import ProviderApi
from central.settings import Settings
from tests.central.conftest import token_for
from tests.central.payments.support import SECRET, KioskSide, Sandbox, Served, serve
from tests.kiosk.support import free_port
from tests.offline_queue.support import enrol


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    # One provider process per test: its settlement files then hold this test's money only.
    process = Sandbox.start()
    yield process
    process.stop()


@pytest.fixture
def served(db: Database, db_url: str, sandbox: Sandbox) -> Iterator[Served]:
    app = create_app(Settings(database_url=db_url), db)
    app.state.payment_provider = ProviderApi(sandbox.url, SECRET, "sandbox")
    server = serve(app, db, free_port())
    yield server
    server.stop()


@pytest.fixture
def kiosk(served: Served, sandbox: Sandbox, tmp_path: Path) -> Iterator[KioskSide]:
    side = KioskSide.open(
        enrol(served.db), tmp_path / "kiosk.sqlite3", served.base_url, sandbox.url
    )
    yield side
    side.close()


@pytest.fixture
def boss(db: Database) -> str:
    return token_for(db, "boss")
