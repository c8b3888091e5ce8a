"""Staff accounts: Argon2 password hashes and expiring, revocable bearer tokens.

Only a SHA-256 digest of each token is stored, so a copy of the database does
not let anyone act as staff.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, insert, select, update

from central.auth.principal import Principal, Role
from central.db.schema import api_tokens, staff
from central.db.types import utcnow
from central.errors import Conflict, InvalidRequest, Unauthorized

_hasher = PasswordHasher()
USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")
MIN_PASSWORD = 10
STAFF_ROLES = (Role.MANAGER, Role.CASHIER, Role.TECHNICIAN, Role.AUDITOR)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_staff(conn: Connection, *, username: str, password: str, role: Role) -> int:
    if not USERNAME.match(username):
        raise InvalidRequest(
            "a username is 2-64 lower-case letters, digits, '.', '-' or '_'",
            code="invalid_username",
        )
    if len(password) < MIN_PASSWORD:
        raise InvalidRequest(
            f"a staff password has at least {MIN_PASSWORD} characters", code="weak_password"
        )
    if role not in STAFF_ROLES:
        raise InvalidRequest(f"staff roles are {', '.join(STAFF_ROLES)}", code="invalid_role")
    if conn.execute(select(staff.c.id).where(staff.c.username == username)).first():
        raise Conflict(f"staff member {username!r} already exists", code="already_exists")
    result = conn.execute(
        insert(staff).values(
            username=username,
            password_hash=_hasher.hash(password),
            role=role.value,
            active=True,
            created_at=utcnow(),
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def check_password(conn: Connection, *, username: str, password: str) -> tuple[int, Principal]:
    """The active staff member with this username and password, or ``bad_credentials``
    (the same answer for an unknown name, a wrong password and a disabled account)."""
    row = conn.execute(
        select(staff.c.id, staff.c.password_hash, staff.c.active, staff.c.role).where(
            staff.c.username == username
        )
    ).first()
    refused = Unauthorized("wrong username or password", code="bad_credentials")
    if row is None:
        # Spend the same time as a real check, so a timing probe cannot list usernames.
        _hasher.hash(password)
        raise refused
    try:
        _hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise refused from None
    if not row.active:
        raise refused
    return int(row.id), Principal("staff", username, Role(row.role))


def issue_token(conn: Connection, *, username: str, password: str, ttl_s: int) -> tuple[str, int]:
    """Sign a staff member in; returns the token and its lifetime in seconds."""
    staff_id, _ = check_password(conn, username=username, password=password)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    conn.execute(
        insert(api_tokens).values(
            token_hash=token_digest(token),
            staff_id=staff_id,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
        )
    )
    return token, ttl_s


def principal_for(conn: Connection, token: str) -> Principal:
    row = conn.execute(
        select(
            staff.c.username,
            staff.c.role,
            staff.c.active,
            api_tokens.c.expires_at,
            api_tokens.c.revoked_at,
        )
        .join(staff, staff.c.id == api_tokens.c.staff_id)
        .where(api_tokens.c.token_hash == token_digest(token))
    ).first()
    if row is None or not row.active or row.revoked_at is not None:
        raise Unauthorized("the token is not valid: sign in again", code="invalid_token")
    if row.expires_at <= utcnow():
        raise Unauthorized("the token has expired: sign in again", code="token_expired")
    return Principal("staff", row.username, Role(row.role))


def revoke_token(conn: Connection, token: str) -> None:
    conn.execute(
        update(api_tokens)
        .where(api_tokens.c.token_hash == token_digest(token), api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
