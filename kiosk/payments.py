"""QR / mobile payment: the provider interface, signed callbacks, and the kiosk's receiver.

The kiosk asks the provider for an order (its id is the kiosk's, so a retry is the
same order), shows the provider's QR payload with a countdown, and learns the
result from the provider's callback (pushed) or by asking (polled, on expiry
and on cancel). A callback is signed: HMAC-SHA256 under the secret the provider
and the estate share, over ``<timestamp>.<nonce>.<body>``; one too old, or whose
nonce was seen, is refused. The order id makes the credit happen once however
many times, and however late, the provider says "paid".
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from domain.provider_signature import sign as sign
from domain.provider_signature import signed_headers as signed_headers

log = logging.getLogger(__name__)


MAX_SKEW_S = 300
CALLBACK_PATH = "/payments/callback"


class ProviderUnavailable(Exception):
    """The provider did not answer: QR payment is not offered."""


@dataclass
class CallbackVerifier:
    secret: bytes
    _seen: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, headers: dict[str, str], body: bytes, now: float) -> str:
        """ "" when the callback is genuine and new, else why it is refused."""
        try:
            timestamp = int(headers.get("x-timestamp", ""))
        except ValueError:
            return "no timestamp"
        nonce, signature = headers.get("x-nonce", ""), headers.get("x-signature", "")
        if not nonce or not hmac.compare_digest(
            sign(self.secret, body, timestamp, nonce), signature
        ):
            return "bad signature"
        if abs(now - timestamp) > MAX_SKEW_S:
            return "stale timestamp"
        with self._lock:
            for seen, at in list(self._seen.items()):
                if at < now - 2 * MAX_SKEW_S:
                    del self._seen[seen]
            if nonce in self._seen:
                return "replayed"
            self._seen[nonce] = now
        return ""


@dataclass(frozen=True)
class Order:
    order_id: str
    qr: str  # what the resident's banking app scans
    status: str  # "open", "paid", "cancelled"


class ProviderClient:
    """The provider's merchant API (the sandbox speaks the same)."""

    def __init__(self, base_url: str, *, name: str = "sandbox", timeout: float = 3.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.timeout = timeout
        self.session = requests.Session()

    def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        try:
            answer = self.session.request(
                method, self.base_url + path, json=body, timeout=self.timeout
            )
            answer.raise_for_status()
            data: dict[str, Any] = answer.json()
            return data
        except (requests.RequestException, ValueError) as err:
            raise ProviderUnavailable(f"{method} {path}: {err}") from err

    def create_order(self, *, order_id: str, amount: int, currency: str, notify_url: str) -> Order:
        data = self._call(
            "POST",
            "/orders",
            {
                "order_id": order_id,
                "amount": amount,
                "currency": currency,
                "notify_url": notify_url,
            },
        )
        return Order(data["order_id"], data["qr"], data["status"])

    def cancel(self, order_id: str) -> Order:
        """Close the order; answers "paid" when the money came first."""
        data = self._call("POST", f"/orders/{order_id}/cancel")
        return Order(data["order_id"], data["qr"], data["status"])

    def query(self, order_id: str) -> Order:
        data = self._call("GET", f"/orders/{order_id}")
        return Order(data["order_id"], data["qr"], data["status"])

    def close(self) -> None:
        self.session.close()


class CallbackServer:
    """The kiosk's receiver: verifies each callback and hands "paid" to the controller."""

    def __init__(
        self,
        verifier: CallbackVerifier,
        on_paid: Callable[[str, int, str], None],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                reason = (
                    "unknown path"
                    if self.path != CALLBACK_PATH
                    else verifier.verify(headers, body, time.time())
                )
                if not reason:
                    try:
                        data = json.loads(body)
                        if data.get("status") == "paid":
                            on_paid(str(data["order_id"]), int(data["amount"]), str(data["ref"]))
                    except (ValueError, KeyError, TypeError):
                        reason = "malformed"
                if reason:
                    log.warning("payment callback refused: %s", reason)
                    outer.refused.append(reason)
                self.send_response(401 if reason else 200)
                self.end_headers()
                self.wfile.write(b"refused" if reason else b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                log.debug(format, *args)

        self.refused: list[str] = []
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="kiosk-payment-callbacks", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}{CALLBACK_PATH}"

    def start(self) -> None:
        # Idempotent: the controller's start runs again when its thread starts.
        if not self.thread.is_alive():
            self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
