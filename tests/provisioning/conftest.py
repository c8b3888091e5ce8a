"""A real central server in its own process (uvicorn on a free port) over a copy of
the central tests' estate, and a manager's token for it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from bench.harness import REPO, free_port
from central.auth.staff import issue_token
from central.db.database import Database
from tests.central.conftest import (
    MANAGER_PASSWORD,
    migrated_template,  # noqa: F401  (a fixture)
)


@dataclass
class Server:
    url: str
    manager: dict[str, str]
    db: Database

    def code(self, terminal_type: str = "kiosk", location: str = "Tower A lobby") -> str:
        answer = requests.post(
            f"{self.url}/v1/terminals/enrolment-codes",
            json={"terminal_type": terminal_type, "location": location, "server": self.url},
            headers=self.manager,
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        code: str = answer.json()["code"]
        return code


@pytest.fixture(scope="module")
def server(
    migrated_template: Path,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    """``prepaid central serve`` as its own OS process, shared by a test module."""
    work = tmp_path_factory.mktemp("server")
    path = work / "estate.sqlite3"
    shutil.copyfile(migrated_template, path)
    url = f"sqlite:///{path}"
    db = Database.open(url, migrate=False)
    with db.write() as conn:
        token, _ = issue_token(conn, username="boss", password=MANAGER_PASSWORD, ttl_s=3600)
    port = free_port()
    log = (work / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "central", "serve", "--port", str(port)],
        cwd=REPO,
        env={**os.environ, "PREPAID_DATABASE_URL": url, "PREPAID_LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the server did not start: {(work / 'server.log').read_text()[-2000:]}"
                    ) from None
                time.sleep(0.05)
        yield Server(f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}, db)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        db.close()
