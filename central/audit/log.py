"""Recording and reading audit entries. A record is written in the same
transaction as the action it describes: no action lands without its entry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from central.auth.principal import Principal
from central.db.schema import audit_log
from central.db.types import utcnow

MAX_LIST = 1000
# Residents' personal data never enters the audit log (it is append-only, so an
# erasure could not reach it there): the entry keeps the resident's id instead.
PERSONAL = frozenset({"name", "phone", "email"})


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "[personal data]" if k in PERSONAL else _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def record(
    conn: Connection,
    principal: Principal,
    *,
    action: str,
    subject: str | None = None,
    before: Any = None,
    after: Any = None,
    idempotency_key: str | None = None,
) -> None:
    conn.execute(
        insert(audit_log).values(
            at=utcnow(),
            actor=principal.actor,
            role=principal.role.value,
            action=action,
            subject=subject,
            remote=principal.remote,
            idempotency_key=idempotency_key,
            before=None
            if before is None
            else json.dumps(_redact(before), default=str, sort_keys=True),
            after=None
            if after is None
            else json.dumps(_redact(after), default=str, sort_keys=True),
        )
    )


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    at: datetime
    actor: str
    role: str
    action: str
    subject: str | None
    remote: str | None
    idempotency_key: str | None
    before: Any
    after: Any


def entries(
    conn: Connection,
    *,
    actor: str | None = None,
    action: str | None = None,
    subject: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[Entry]:
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(min(limit, MAX_LIST))
    if actor:
        query = query.where(audit_log.c.actor == actor)
    if action:
        query = query.where(audit_log.c.action == action)
    if subject:
        query = query.where(audit_log.c.subject == subject)
    if since:
        query = query.where(audit_log.c.at >= since)
    if until:
        query = query.where(audit_log.c.at < until)
    return [
        Entry(
            r.id,
            r.at,
            r.actor,
            r.role,
            r.action,
            r.subject,
            r.remote,
            r.idempotency_key,
            None if r.before is None else json.loads(r.before),
            None if r.after is None else json.loads(r.after),
        )
        for r in conn.execute(query)
    ]
