"""Signed HTTP requests to the server, over a transport picked at construction.

Every request is signed as ``domain.signing`` says (RFC 9421 style) with the
terminal's key; every answer states the server's clock (``Server-Time``) and the
client keeps its estimate of the offset, which the journal stamps on entries and
the signature's ``created`` uses. A refusal for a stale timestamp corrects the
offset and is retried once.

``RequestsTransport`` speaks HTTP with requests; tests plug in an in-process one.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import requests

from domain import signing
from offline_queue.errors import SyncError, SyncRefused
from offline_queue.identity import Identity


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Transport(Protocol):
    def __call__(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Answer: ...


class RequestsTransport:
    """HTTP through one keep-alive ``requests.Session``."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def __call__(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                data=body or None,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as err:
            raise SyncError(f"no answer from the server: {err}") from err
        return Answer(
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            response.content,
        )

    def close(self) -> None:
        self.session.close()


class SignedClient:
    def __init__(
        self,
        identity: Identity,
        transport: Transport,
        *,
        clock: Callable[[], float] = time.time,
        offset_ms: int = 0,
    ) -> None:
        self.identity = identity
        self.transport = transport
        self.clock = clock
        self.offset_ms = offset_ms  # the server's clock minus ours

    def headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        params = signing.SignatureParams(
            components=signing.COMPONENTS,
            created=int((self.clock() * 1000 + self.offset_ms) / 1000),
            keyid=self.identity.key_id,
            nonce=secrets.token_urlsafe(16),
        )
        headers = {
            "content-digest": signing.content_digest(body),
            "terminal-id": self.identity.terminal_id,
        }
        base = signing.signature_base(method=method, path=path, headers=headers, params=params)
        return {
            "Content-Type": "application/json",
            "Content-Digest": headers["content-digest"],
            signing.TERMINAL_ID_HEADER: self.identity.terminal_id,
            "Signature-Input": signing.signature_input_header(params),
            "Signature": signing.signature_header(self.identity.sign(base)),
        }

    def _learn_clock(self, answer: Answer, sent: float, received: float) -> None:
        stated = answer.headers.get(signing.SERVER_TIME_HEADER.lower())
        if stated is None:
            return
        try:
            server = float(stated)
        except ValueError:
            return
        self.offset_ms = int((server - (sent + received) / 2) * 1000)

    def call(self, method: str, path: str, payload: Any = None) -> Answer:
        """Send a signed request; raise ``SyncRefused`` for any refusal of the whole request."""
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        for attempt in (1, 2):
            sent = self.clock()
            # "@path" is the path alone: the query string is not part of what is signed.
            signed = self.headers(method, path.split("?", 1)[0], body)
            answer = self.transport(method, path, body, signed)
            self._learn_clock(answer, sent, self.clock())
            if answer.status < 400:
                return answer
            code = _error_code(answer)
            if code == "stale_timestamp" and attempt == 1:
                continue  # the offset was corrected from the refusal's Server-Time
            raise SyncRefused(
                f"the server refused {method} {path}: {answer.status} {code}: "
                f"{answer.body[:300].decode(errors='replace')}",
                status=answer.status,
                code=code,
            )
        raise AssertionError("unreachable")


def _error_code(answer: Answer) -> str | None:
    try:
        data = answer.json()
    except ValueError:
        return None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            return str(error["code"])
    return None
