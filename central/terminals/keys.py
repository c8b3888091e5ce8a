"""Terminals' public keys: added at enrolment, rotated, never deleted."""

from __future__ import annotations

from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, insert, select, update

from central.db.types import utcnow
from central.errors import Conflict, InvalidRequest, NotFound, Unauthorized
from central.terminals.tables import terminal_keys
from domain import signing

PUBLIC_KEY_BYTES = 32


def load_public_key(raw: bytes) -> Ed25519PublicKey:
    if len(raw) != PUBLIC_KEY_BYTES:
        raise InvalidRequest("an Ed25519 public key is 32 bytes", code="invalid_public_key")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as err:
        raise InvalidRequest("not an Ed25519 public key", code="invalid_public_key") from err


def proof_is_valid(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        load_public_key(public_key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def add_key(
    conn: Connection, *, terminal_id: str, public_key: bytes, now: datetime | None = None
) -> str:
    load_public_key(public_key)
    key_id = signing.public_key_id(public_key)
    if conn.execute(select(terminal_keys.c.key_id).where(terminal_keys.c.key_id == key_id)).first():
        raise Conflict("this public key is already registered", code="key_reused")
    conn.execute(
        insert(terminal_keys).values(
            key_id=key_id,
            terminal_id=terminal_id,
            public_key=signing.b64(public_key),
            created_at=now or utcnow(),
        )
    )
    return key_id


def terminal_of_public_key(conn: Connection, public_key: bytes) -> str | None:
    found = conn.execute(
        select(terminal_keys.c.terminal_id).where(
            terminal_keys.c.key_id == signing.public_key_id(public_key)
        )
    ).scalar_one_or_none()
    return None if found is None else str(found)


def current_key_id(conn: Connection, terminal_id: str) -> str:
    found = conn.execute(
        select(terminal_keys.c.key_id)
        .where(terminal_keys.c.terminal_id == terminal_id, terminal_keys.c.retired_at.is_(None))
        .order_by(terminal_keys.c.created_at.desc())
    ).first()
    if found is None:
        raise NotFound(f"terminal {terminal_id} has no current key", code="no_key")
    return str(found.key_id)


def rotate(
    conn: Connection,
    *,
    terminal_id: str,
    public_key: bytes,
    proof: bytes,
    now: datetime | None = None,
) -> str:
    """Make ``public_key`` the terminal's key; the others retire but stay on file.

    A retired key still verifies requests it signed before it retired (those in
    flight during the rotation) and every journal entry it ever signed.
    """
    now = now or utcnow()
    message = signing.rotation_proof_message(terminal_id, public_key)
    if not proof_is_valid(public_key, message, proof):
        raise Unauthorized("the new key's proof does not verify", code="bad_proof")
    if terminal_of_public_key(conn, public_key) == terminal_id:
        return signing.public_key_id(public_key)  # a retry of the same rotation
    conn.execute(
        update(terminal_keys)
        .where(terminal_keys.c.terminal_id == terminal_id, terminal_keys.c.retired_at.is_(None))
        .values(retired_at=now)
    )
    return add_key(conn, terminal_id=terminal_id, public_key=public_key, now=now)


def verify_detached(
    conn: Connection, *, terminal_id: str, key_id: str, message: bytes, signature: bytes
) -> bool:
    """Whether ``signature`` over ``message`` is by a key ``terminal_id`` ever had.

    For journal entries: an entry signed before a rotation still verifies.
    """
    row = conn.execute(
        select(terminal_keys.c.public_key).where(
            terminal_keys.c.key_id == key_id, terminal_keys.c.terminal_id == terminal_id
        )
    ).first()
    if row is None:
        return False
    return proof_is_valid(signing.unb64(row.public_key), message, signature)
