"""A signed HTTP client for one terminal (requests, ``domain.signing``).

Every request carries ``Content-Digest``, ``Terminal-Id``, ``Signature-Input`` and
``Signature``. A refusal for a stale timestamp carries the server's time
(``Server-Time``): the client learns its clock offset from it and retries once
with a fresh nonce, so a terminal whose clock reset after a power cut recovers
by itself.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain import signing
from provisioning.errors import ServerRefused, ServerUnreachable

log = logging.getLogger("provisioning.client")


def sign_headers(
    *,
    method: str,
    path: str,
    body: bytes,
    key: Ed25519PrivateKey,
    key_id: str,
    terminal_id: str,
    created: int,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers that make ``method path body`` a signed request of ``terminal_id``."""
    headers = {
        "content-digest": signing.content_digest(body),
        "terminal-id": terminal_id,
    }
    params = signing.SignatureParams(
        components=signing.COMPONENTS,
        created=created,
        keyid=key_id,
        nonce=nonce or secrets.token_urlsafe(16),
    )
    base = signing.signature_base(method=method, path=path, headers=headers, params=params)
    return {
        "Content-Digest": headers["content-digest"],
        signing.TERMINAL_ID_HEADER: terminal_id,
        "Signature-Input": signing.signature_input_header(params),
        "Signature": signing.signature_header(key.sign(base)),
    }


def encode_body(body: Any) -> bytes:
    return b"" if body is None else json.dumps(body, separators=(",", ":")).encode()


def refusal(response: requests.Response) -> ServerRefused:
    try:
        error = response.json().get("error", {})
        code, message = str(error.get("code", "")), str(error.get("message", ""))
    except ValueError:
        code, message = "http_error", response.text[:200]
    return ServerRefused(response.status_code, code or "http_error", message or response.reason)


class SignedClient:
    """Signs every request with the terminal's key; corrects its clock from the server."""

    def __init__(
        self,
        server: str,
        *,
        terminal_id: str,
        key: Ed25519PrivateKey,
        key_id: str,
        clock_offset_s: float = 0.0,
        clock: Callable[[], float] = time.time,
        on_clock_offset: Callable[[float], None] | None = None,
        timeout_s: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        self.terminal_id = terminal_id
        self._key = key
        self.key_id = key_id
        self.clock_offset_s = clock_offset_s
        self.clock = clock
        self.on_clock_offset = on_clock_offset
        self.timeout_s = timeout_s
        self.session = session or requests.Session()
        self._lock = threading.Lock()

    def use_key(self, key: Ed25519PrivateKey, key_id: str) -> None:
        """Sign from now on with ``key`` (after a rotation)."""
        with self._lock:
            self._key, self.key_id = key, key_id

    def now(self) -> float:
        """The server's time as this terminal believes it."""
        return self.clock() + self.clock_offset_s

    def signed(self, method: str, path: str, body: bytes) -> dict[str, str]:
        with self._lock:
            key, key_id = self._key, self.key_id
        return sign_headers(
            method=method,
            path=path,
            body=body,
            key=key,
            key_id=key_id,
            terminal_id=self.terminal_id,
            created=int(self.now()),
        )

    def send(self, method: str, path: str, body: bytes) -> requests.Response:
        headers = self.signed(method, path, body)
        if body:
            headers["Content-Type"] = "application/json"
        try:
            return self.session.request(
                method, self.server + path, data=body, headers=headers, timeout=self.timeout_s
            )
        except requests.RequestException as err:
            raise ServerUnreachable(f"no answer from {self.server}: {err}") from err

    def request(self, method: str, path: str, body: Any = None) -> requests.Response:
        """Send a signed request; after a stale-timestamp refusal, correct and retry once."""
        payload = encode_body(body)
        response = self.send(method, path, payload)
        if response.status_code == 401 and refusal(response).code == "stale_timestamp":
            server_time = response.headers.get(signing.SERVER_TIME_HEADER)
            if server_time is not None:
                self.clock_offset_s = float(server_time) - self.clock()
                log.warning(
                    "clock corrected from the server",
                    extra={"terminal": self.terminal_id, "offset_s": self.clock_offset_s},
                )
                if self.on_clock_offset is not None:
                    self.on_clock_offset(self.clock_offset_s)
                response = self.send(method, path, payload)
        return response

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """``request`` that answers the decoded JSON, or raises ``ServerRefused``."""
        response = self.request(method, path, body)
        if response.status_code >= 400:
            raise refusal(response)
        return response.json() if response.content else None

    def close(self) -> None:
        self.session.close()
