"""Helpers for the kiosk tests: a real central server on loopback, the kiosk wired to simulators."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from central import logs
from central.api.app import create_app
from central.auth.principal import Role
from central.auth.staff import create_staff
from central.db.database import Database
from central.estate.demo import seed
from central.settings import Settings
from central.terminals import enrolment
from domain import signing
from offline_queue.identity import Identity

PASSWORD = "kiosk test password"
QR_KEY = b"kiosk-test-qr-key"  # the residents' app's key, known to the server too


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class CentralServer:
    base_url: str
    token: str
    db: Database
    server: uvicorn.Server
    thread: threading.Thread

    def call(self, method: str, path: str, body: Any = None, key: str = "") -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path, data=data, headers=headers, method=method
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def balance(self, unit: str, wallet: str) -> int:
        for w in self.call("GET", f"/v1/units/{unit}/wallets"):
            if w["purpose"] == wallet:
                return int(w["balance"])
        raise KeyError(wallet)

    def kiosk_top_ups(self, unit: str, wallet: str) -> list[dict[str, Any]]:
        statement = self.call(
            "GET", f"/v1/units/{unit}/wallets/{wallet}/statement?from=2026-01-01&to=2030-12-31"
        )
        return [line for line in statement["lines"] if "kiosk" in (line["memo"] or "")]

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.db.close()


def start_central(directory: Path) -> CentralServer:
    logs.configure("WARNING")
    url = f"sqlite:///{directory / 'central.sqlite3'}"
    db = Database.open(url)
    with db.write() as conn:
        seed(conn)
        create_staff(conn, username="kiosk", password=PASSWORD, role=Role.MANAGER)
    port = free_port()
    settings = Settings(database_url=url, host="127.0.0.1", port=port, qr_token_key=QR_KEY.hex())
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, db), host="127.0.0.1", port=port, log_config=None,
            access_log=False,
        )
    )  # fmt: skip
    thread = threading.Thread(target=server.run, name="central-test-server", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            request = urllib.request.Request(
                base + "/v1/auth/token",
                data=json.dumps({"username": "kiosk", "password": PASSWORD}).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=5) as answer:
                token = json.loads(answer.read())["access_token"]
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    return CentralServer(base, token, db, server, thread)


def enrol_kiosk(
    central: CentralServer, location: str = "Lobby A", *, terminal_type: str = "kiosk"
) -> Identity:
    """A kiosk enrolled as provisioning does it: a key made here, a manager's code spent."""
    fresh = Identity.generate()
    with central.db.write() as conn:
        code = enrolment.create_code(
            conn, terminal_type=terminal_type, location=location, created_by="staff:kiosk"
        )
        proof = fresh.sign(signing.enrolment_proof_message(code.code, fresh.public_key))
        enrolled = enrolment.enrol(conn, code=code.code, public_key=fresh.public_key, proof=proof)
    return Identity(enrolled.terminal_id, fresh.private_key)
