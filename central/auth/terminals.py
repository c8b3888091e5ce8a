"""The seam where terminal request signatures plug in.

A terminal proves itself by signing each request (method, path, timestamp,
nonce, body digest) with its own Ed25519 key, in the spirit of RFC 9421 (the
wire format is :mod:`domain.signing`). The app's default :class:`TerminalVerifier`
is :class:`central.terminals.verify.SignedRequestVerifier`, which checks those
headers against the terminal registry; ``no_terminals_enrolled`` refuses every
terminal request (for a server that admits no terminals).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from sqlalchemy import Connection

from central.auth.principal import Principal
from central.errors import Unauthorized

SIGNATURE_HEADERS = ("signature", "signature-input", "content-digest")


class TerminalVerifier(Protocol):
    def __call__(
        self,
        conn: Connection,
        *,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Principal: ...


def no_terminals_enrolled(
    conn: Connection, *, method: str, path: str, headers: Mapping[str, str], body: bytes
) -> Principal:
    raise Unauthorized("no terminal is enrolled with this server", code="unknown_terminal")


def is_signed(headers: Mapping[str, str]) -> bool:
    return "signature" in headers and "signature-input" in headers
