"""The outbox: retries with a growing delay, the SMS gateway over HTTP, settings."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from sqlalchemy import select

from central.db.database import Database
from central.estate import registry as estate_registry
from central.metering import notify
from central.metering.service import MeteringService, MeteringSettings
from central.metering.tables import notifications
from tests.central.metering.conftest import T0, pay, reading


class Flaky:
    name = "sms"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[dict[str, Any]] = []

    def send(self, **message: Any) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("gateway down")
        self.sent.append(message)


def test_failed_messages_are_retried_later(db: Database, service: MeteringService) -> None:
    with db.write() as conn:
        estate_registry.add_resident(
            conn, unit="A-0101", name="R", phone="+86 139 0000 0001", language="en"
        )
    pay(db, "A-0101", "electricity", 6000, "fund")
    service.ingest([reading("E-1", T0, "20")])  # 12.34 spent: 47.66 left, below 50.00
    flaky = Flaky(failures=1)
    channels = {**notify.development_channels(), "sms": flaky}
    with db.write() as conn:
        assert notify.deliver_due(conn, channels, now=T0) == 1  # the app message; SMS failed
        assert notify.deliver_due(conn, channels, now=T0 + timedelta(seconds=30)) == 0
        assert notify.deliver_due(conn, channels, now=T0 + timedelta(minutes=1)) == 1
        rows = conn.execute(select(notifications.c.channel, notifications.c.attempts)).all()
    assert sorted(rows) == [("app", 1), ("sms", 2)]
    assert flaky.sent[0]["unit"] == "A-0101"
    assert flaky.sent[0]["subject"] == "Low electricity balance"


def test_sms_gateway_posts_json() -> None:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"auth": self.headers["Authorization"], **json.loads(body)})
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/send"
        settings = MeteringSettings.from_env({"PREPAID_SMS_URL": url, "PREPAID_SMS_KEY": "k1"})
        gateway = settings.channels()["sms"]
        gateway.send(to="+86 139", subject="s", body="hello", unit="A-0101", resident_id=1)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    assert received == [{"auth": "Bearer k1", "to": "+86 139", "text": "hello"}]
    assert isinstance(MeteringSettings.from_env({}).channels()["sms"], notify.LogChannel)
