"""Fixtures for the central server: a migrated database per test, an API client."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from central.api.app import create_app
from central.auth.principal import Role
from central.auth.staff import create_staff, issue_token
from central.db.database import Database
from central.estate import registry
from central.estate.settings import Estate, create
from central.settings import Settings
from tests import pg_server

ESTATE = Estate(
    name="Test Court",
    legal_name="Test Court Management Ltd",
    tax_number="TAX-1",
    phone="+86 21 0000 0000",
    currency="CNY",
    timezone="Asia/Shanghai",
    locale="en",
    emergency_credit=1000,
)
MANAGER_PASSWORD = "correct horse battery"


def _seed_test_estate(db: Database) -> None:
    with db.write() as conn:
        create(conn, ESTATE)
        registry.add_site(conn, code="s1", name="Site One")
        registry.add_building(conn, site="s1", code="A", name="Tower A", floors=10)
        registry.add_building(conn, site="s1", code="B", name="Tower B", floors=10)
        for n, floor in (("0101", 1), ("0102", 1), ("0201", 2)):
            registry.add_unit(conn, building="A", number=n, floor=floor, area_m2=Decimal("88.50"))
        registry.add_unit(conn, building="B", number="0101", floor=1, area_m2=Decimal("120"))
        create_staff(conn, username="boss", password=MANAGER_PASSWORD, role=Role.MANAGER)
        for role in (Role.CASHIER, Role.TECHNICIAN, Role.AUDITOR):
            create_staff(conn, username=role.value, password=MANAGER_PASSWORD, role=role)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrations run once; each test copies the file (a fresh database in milliseconds)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    db = Database.open(f"sqlite:///{path}")
    _seed_test_estate(db)
    db.close()
    return path


@pytest.fixture(scope="session")
def postgres() -> Iterator[pg_server.PostgresServer]:
    """A real PostgreSQL server for the session. In CI its absence fails the run."""
    try:
        server = pg_server.start()
    except pg_server.PostgresUnavailable as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI and did not start: {err}")
        pytest.skip(f"PostgreSQL is not available here: {err}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres: pg_server.PostgresServer) -> str:
    url = pg_server.create_database(postgres, "prepaid_template")
    db = Database.open(url)
    _seed_test_estate(db)
    db.close()  # a template database must have no open connections
    return "prepaid_template"


DatabaseFactory = Callable[[], str]


@pytest.fixture(params=["sqlite", "postgres"])
def new_database(
    request: pytest.FixtureRequest, migrated_template: Path, tmp_path: Path
) -> DatabaseFactory:
    """Makes fresh copies of the test estate on this test's backend; returns their URLs."""
    if request.param == "sqlite":

        def sqlite_copy() -> str:
            path = tmp_path / f"ledger-{uuid.uuid4().hex[:8]}.sqlite3"
            shutil.copyfile(migrated_template, path)
            return f"sqlite:///{path}"

        return sqlite_copy
    server = request.getfixturevalue("postgres")
    template = request.getfixturevalue("postgres_template")

    def postgres_copy() -> str:
        return pg_server.create_database(server, f"t_{uuid.uuid4().hex[:12]}", template=template)

    return postgres_copy


@pytest.fixture
def db_url(new_database: DatabaseFactory) -> str:
    return new_database()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database.open(db_url, migrate=False)
    yield database
    database.close()


@pytest.fixture
def client(db: Database, db_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=db_url), db)
    with TestClient(app) as test_client:
        yield test_client


def token_for(db: Database, username: str) -> str:
    with db.write() as conn:
        token, _ = issue_token(conn, username=username, password=MANAGER_PASSWORD, ttl_s=3600)
    return token


@pytest.fixture
def manager(db: Database) -> dict[str, str]:
    """Headers of a signed-in manager."""
    return {"Authorization": f"Bearer {token_for(db, 'boss')}"}
