"""Test support shared by the offline queue tests: an enrolled terminal, a server
reached in-process, and a transport that can be cut or lose its answers."""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from central.api.app import create_app
from central.db.database import Database
from central.db.schema import accounts, transactions
from central.settings import Settings
from central.terminals import enrolment
from domain import journal as dj
from domain import signing
from offline_queue.client import Answer
from offline_queue.errors import SyncError
from offline_queue.identity import Identity


def enrol(db: Database, terminal_type: str = "kiosk", location: str = "Lobby A") -> Identity:
    fresh = Identity.generate()
    with db.write() as conn:
        code = enrolment.create_code(
            conn, terminal_type=terminal_type, location=location, created_by="staff:boss"
        )
        proof = fresh.sign(signing.enrolment_proof_message(code.code, fresh.public_key))
        enrolled = enrolment.enrol(conn, code=code.code, public_key=fresh.public_key, proof=proof)
    return Identity(enrolled.terminal_id, fresh.private_key)


def copy_template(template: Path, directory: Path) -> str:
    path = directory / f"ledger-{uuid.uuid4().hex[:8]}.sqlite3"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@dataclass
class Network:
    """An in-process server behind a switch: up, down, or answering into the void."""

    client: TestClient
    up: bool = True
    lose_answers: int = 0  # the next N answers are lost after the server acted
    calls: int = field(default=0)

    def __call__(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        self.calls += 1
        if not self.up:
            raise SyncError("connection refused (the network is down)")
        response = self.client.request(method, path, content=body, headers=headers)
        if self.lose_answers > 0:
            self.lose_answers -= 1
            raise SyncError("the connection dropped before the answer arrived")
        return Answer(
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            response.content,
        )


def server(db: Database, url: str) -> TestClient:
    return TestClient(create_app(Settings(database_url=url), db))


def ledger_count(db: Database, terminal_id: str) -> dict[int, int]:
    """seq -> how many ledger transactions carry that journal entry's key."""
    prefix = dj.ledger_key(terminal_id, 0)[:-1]
    with db.read() as conn:
        rows = conn.execute(
            select(transactions.c.idempotency_key, func.count())
            .where(transactions.c.idempotency_key.like(prefix + "%"))
            .group_by(transactions.c.idempotency_key)
        ).all()
    return {int(key.rsplit(":", 1)[1]): int(n) for key, n in rows}


def balance(db: Database, code: str) -> int:
    with db.read() as conn:
        return int(
            conn.execute(select(accounts.c.balance).where(accounts.c.code == code)).scalar_one()
        )


def cash(terminal_id: str, amount: int = 1000, unit: str = "A-0101") -> dict[str, object]:
    return {
        "unit": unit,
        "wallet": "electricity",
        "amount": amount,
        "currency": "CNY",
        "method": "cash",
        "source": terminal_id,
    }
