"""Test support for the provider's back office: the sandbox provider as its own process,
a real central server on a loopback socket, and a kiosk's side of a QR payment
(its journal, its provider client and its callback receiver) without the screens."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from central.db.database import Database
from kiosk.gateway import HttpCentral
from kiosk.journal import KioskJournal
from kiosk.payments import CallbackServer, CallbackVerifier, ProviderClient
from offline_queue.identity import Identity

SECRET = b"settlement-and-refund-test-secret"


@dataclass
class Sandbox:
    url: str
    process: subprocess.Popen[str]

    @classmethod
    def start(cls, *extra: str) -> Sandbox:
        process = subprocess.Popen(
            [sys.executable, "-m", "kiosk.sandbox_provider", "--secret-hex", SECRET.hex(), *extra],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        url = re.search(r"http://\S+", line)
        assert url, line
        return cls(url.group(0), process)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body or {}).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def order(self, order_id: str) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/orders/{order_id}", timeout=10) as answer:
            data: dict[str, Any] = json.loads(answer.read())
            return data

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def code(self) -> str:
        return str(self.body.get("error", {}).get("code", ""))


@dataclass
class Served:
    """The central server, serving on a loopback port from its own thread."""

    base_url: str
    app: FastAPI
    db: Database
    server: uvicorn.Server
    thread: threading.Thread

    def call(
        self, method: str, path: str, body: Any = None, *, token: str, key: str = ""
    ) -> Answer:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return Answer(answer.status, json.loads(answer.read()), dict(answer.headers))
        except urllib.error.HTTPError as err:
            with err:
                return Answer(err.code, json.loads(err.read()), dict(err.headers))

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def serve(app: FastAPI, db: Database, port: int) -> Served:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, name="central-payments-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the central server did not start")
        time.sleep(0.02)
    return Served(f"http://127.0.0.1:{port}", app, db, server, thread)


@dataclass
class KioskSide:
    """A kiosk's QR payment, through the kiosk's own journal, provider client and
    callback receiver, and its journal synced to the server as the kiosk syncs it."""

    identity: Identity
    journal: KioskJournal
    central: HttpCentral
    provider: ProviderClient
    callbacks: CallbackServer
    paid: queue.Queue[tuple[str, int, str]] = field(default_factory=queue.Queue)

    @classmethod
    def open(cls, identity: Identity, journal_path: Path, base_url: str, sandbox: str) -> KioskSide:
        paid: queue.Queue[tuple[str, int, str]] = queue.Queue()
        callbacks = CallbackServer(
            CallbackVerifier(SECRET), lambda order, amount, ref: paid.put((order, amount, ref))
        )
        callbacks.start()
        return cls(
            identity,
            KioskJournal(journal_path, identity),
            HttpCentral(base_url, identity=identity),
            ProviderClient(sandbox),
            callbacks,
            paid,
        )

    def order(self, unit: str, wallet: str, amount: int, *, notify_url: str = "") -> str:
        order_id = f"{self.identity.terminal_id}-{self.journal.journal_id}-{time.time_ns():x}"
        self.journal.open_qr_order(
            order_id=order_id, unit=unit, wallet=wallet, amount=amount, currency="CNY"
        )
        self.provider.create_order(
            order_id=order_id,
            amount=amount,
            currency="CNY",
            notify_url=notify_url or self.callbacks.url,
        )
        return order_id

    def credit_paid(self, order_id: str) -> str:
        """Wait for the provider's callback, credit the order as the kiosk does, sync;
        the ledger transaction's id."""
        got, _, ref = self.paid.get(timeout=15)
        assert got == order_id
        entry = self.journal.credit_qr_order(order_id, ref, provider="sandbox")
        assert entry is not None
        result = self.central.sync(self.journal.signed)
        assert (result.ok, result.rejected) == (True, 0), result
        applied = self.journal.top_up(entry.seq)
        assert applied is not None
        assert applied.state == "applied", applied
        return applied.transaction_id

    def qr_top_up(self, sandbox: Sandbox, unit: str, wallet: str, amount: int) -> tuple[str, str]:
        """(transaction id, order id) of a QR top-up paid at the provider and credited."""
        order_id = self.order(unit, wallet, amount)
        sandbox.post(f"/orders/{order_id}/pay")
        return self.credit_paid(order_id), order_id

    def close(self) -> None:
        self.callbacks.stop()
        self.provider.close()
        self.central.close()
        self.journal.close()
