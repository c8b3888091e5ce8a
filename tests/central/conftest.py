"""Fixtures for the central server: a migrated database per test, an API client."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
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


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrations run once; each test copies the file (a fresh database in milliseconds)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    db = Database.open(f"sqlite:///{path}")
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
    db.close()
    return path


@pytest.fixture
def db_path(migrated_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "ledger.sqlite3"
    shutil.copyfile(migrated_template, path)
    return path


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    database = Database.open(f"sqlite:///{db_path}", migrate=False)
    yield database
    database.close()


@pytest.fixture
def client(db: Database, db_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=f"sqlite:///{db_path}"), db)
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
