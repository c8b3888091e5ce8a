"""Idempotency keys: the same key and body answer the first result again; the
same key with another body is refused."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from central.db.schema import idempotency_keys
from central.db.types import utcnow
from central.errors import Conflict, InvalidRequest

MAX_KEY_LENGTH = 128


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int
    body: dict[str, Any]
    replayed: bool


def digest(operation: str, request: dict[str, Any]) -> str:
    canonical = json.dumps([operation, request], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str | None) -> str:
    if not key:
        raise InvalidRequest(
            "every write needs an Idempotency-Key header (a unique string per operation)",
            code="idempotency_key_missing",
        )
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidRequest(
            f"the Idempotency-Key must be printable and at most {MAX_KEY_LENGTH} characters",
            code="idempotency_key_invalid",
        )
    return key


def run_once(
    conn: Connection,
    *,
    key: str,
    operation: str,
    request: dict[str, Any],
    apply: Callable[[], dict[str, Any]],
    status_code: int = 201,
) -> Outcome:
    """Run ``apply`` once per key, inside the caller's transaction."""
    check_key(key)
    wanted = digest(operation, request)
    row = conn.execute(
        select(
            idempotency_keys.c.request_digest,
            idempotency_keys.c.status_code,
            idempotency_keys.c.response,
        ).where(idempotency_keys.c.key == key)
    ).first()
    if row is not None:
        if row.request_digest != wanted:
            raise Conflict(
                "this Idempotency-Key was already used for a different request; "
                "use a new key for a new operation",
                code="idempotency_conflict",
            )
        return Outcome(row.status_code, json.loads(row.response), replayed=True)
    body = apply()
    conn.execute(
        insert(idempotency_keys).values(
            key=key,
            operation=operation,
            request_digest=wanted,
            status_code=status_code,
            response=json.dumps(body, separators=(",", ":")),
            created_at=utcnow(),
        )
    )
    return Outcome(status_code, body, replayed=False)
