"""One-time enrolment codes, and enrolling a terminal with one."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import segno
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from central.db.types import utcnow
from central.errors import InvalidRequest, Refused, Unauthorized
from central.terminals import config as terminal_config
from central.terminals import keys
from central.terminals.tables import TERMINAL_TYPES, enrolment_codes, terminals
from domain import signing

DEFAULT_TTL = timedelta(hours=24)
CODE_LENGTH = 16  # 80 bits of Crockford base32


@dataclass(frozen=True)
class EnrolmentCode:
    code: str  # formatted, e.g. "7KQ2-M9XD-..."; shown once, never stored
    terminal_type: str
    location: str
    expires_at: datetime

    def qr_text(self, server: str | None = None) -> str:
        return signing.qr_payload(self.code, server)

    def qr(self, server: str | None = None) -> segno.QRCode:
        return segno.make(self.qr_text(server), error="m")


@dataclass(frozen=True)
class Enrolled:
    terminal_id: str
    key_id: str
    terminal_type: str
    location: str
    config_version: int
    config: dict[str, Any]


def code_hash(code: str) -> str:
    return hashlib.sha256(signing.normalize_code(code).encode()).hexdigest()


def check_type(terminal_type: str) -> str:
    if terminal_type not in TERMINAL_TYPES:
        raise InvalidRequest(
            f"terminal type must be one of {', '.join(TERMINAL_TYPES)}", code="invalid_type"
        )
    return terminal_type


def create_code(
    conn: Connection,
    *,
    terminal_type: str,
    location: str,
    created_by: str,
    ttl: timedelta = DEFAULT_TTL,
    now: datetime | None = None,
) -> EnrolmentCode:
    check_type(terminal_type)
    location = location.strip()
    if not location or len(location) > 200:
        raise InvalidRequest("name the location (1 to 200 characters)", code="invalid_location")
    if not timedelta(minutes=1) <= ttl <= timedelta(days=30):
        raise InvalidRequest("a code lives between 1 minute and 30 days", code="invalid_ttl")
    now = now or utcnow()
    code = "".join(secrets.choice(signing.CODE_ALPHABET) for _ in range(CODE_LENGTH))
    conn.execute(
        insert(enrolment_codes).values(
            code_hash=code_hash(code),
            terminal_type=terminal_type,
            location=location,
            created_by=created_by,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return EnrolmentCode(signing.format_code(code), terminal_type, location, now + ttl)


def _insert_terminal(conn: Connection, *, terminal_type: str, values: dict[str, Any]) -> str:
    """Insert the terminal under the next free ``<type>-NNN``; answer that id.

    Two enrolments of one type at once pick the same number: the second insert fails
    (after waiting for the first, on PostgreSQL) and takes the next number.
    """
    count = conn.execute(
        select(func.count())
        .select_from(terminals)
        .where(terminals.c.terminal_type == terminal_type)
    ).scalar_one()
    n = int(count) + 1
    while True:
        candidate = f"{terminal_type}-{n:03d}"
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(terminals).values(id=candidate, terminal_type=terminal_type, **values)
                )
            return candidate
        except IntegrityError:
            n += 1


def enrol(
    conn: Connection,
    *,
    code: str,
    public_key: bytes,
    proof: bytes,
    terminal_type: str | None = None,
    now: datetime | None = None,
) -> Enrolled:
    """Spend ``code`` on a new terminal holding ``public_key``.

    Refusals (each writes nothing): an unknown code, a used one, an expired one, one
    made for another terminal type, a key the terminal does not prove it holds.
    A retry with the same key after a lost answer gets the same terminal back.
    """
    now = now or utcnow()
    row = conn.execute(
        select(enrolment_codes).where(enrolment_codes.c.code_hash == code_hash(code))
    ).first()
    if row is None:
        raise Unauthorized(
            "this enrolment code is unknown: check it, or ask the manager for a new one",
            code="unknown_code",
        )
    if not keys.proof_is_valid(
        public_key, signing.enrolment_proof_message(code, public_key), proof
    ):
        raise Unauthorized(
            "the proof does not match the public key: the key pair is broken",
            code="bad_proof",
        )
    if row.used_at is not None:
        same = keys.terminal_of_public_key(conn, public_key)
        if same is not None and same == row.terminal_id:
            return _enrolled(conn, same)
        raise Refused(
            f"this enrolment code was already used (by {row.terminal_id}); "
            "ask the manager for a new one",
            code="code_used",
        )
    if row.expires_at <= now:
        raise Refused(
            f"this enrolment code expired at {row.expires_at:%Y-%m-%d %H:%M} UTC; "
            "ask the manager for a new one",
            code="code_expired",
        )
    if terminal_type is not None and terminal_type != row.terminal_type:
        raise Refused(
            f"this code is for a {row.terminal_type}, and this terminal is a {terminal_type}",
            code="wrong_terminal_type",
        )
    terminal_id = _insert_terminal(
        conn,
        terminal_type=row.terminal_type,
        values={
            "location": row.location,
            "status": "active",
            "enrolled_at": now,
            "enrolled_by": row.created_by,
        },
    )
    keys.add_key(conn, terminal_id=terminal_id, public_key=public_key, now=now)
    # Guarded: of two enrolments racing for one code, only one marks it used.
    marked = conn.execute(
        update(enrolment_codes)
        .where(enrolment_codes.c.code_hash == row.code_hash, enrolment_codes.c.used_at.is_(None))
        .values(used_at=now, terminal_id=terminal_id)
    )
    if marked.rowcount != 1:
        raise Refused("this enrolment code was already used", code="code_used")
    terminal_config.create_initial(conn, terminal_id, row.terminal_type, now=now)
    return _enrolled(conn, terminal_id)


def _enrolled(conn: Connection, terminal_id: str) -> Enrolled:
    row = conn.execute(select(terminals).where(terminals.c.id == terminal_id)).one()
    version, config = terminal_config.latest(conn, terminal_id)
    return Enrolled(
        terminal_id=terminal_id,
        key_id=keys.current_key_id(conn, terminal_id),
        terminal_type=row.terminal_type,
        location=row.location,
        config_version=version,
        config=config,
    )
