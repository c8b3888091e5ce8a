"""Sign-in by phone number and a one-time code.

The code goes out through a :class:`CodeSender` (an SMS gateway over HTTP in
production; the log in development). Asking for a code answers the same
whether or not the phone is known, so the endpoint cannot be used to find out
who lives on the estate. Codes expire after five minutes and allow five tries.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import urllib.request
from datetime import timedelta
from typing import ClassVar, Protocol

from sqlalchemy import Connection, func, insert, select, update

from central.auth.principal import Principal, Role
from central.db.schema import resident_codes, resident_tokens, residents, units
from central.db.types import utcnow
from central.errors import Unauthorized
from central.estate.registry import normalise_phone

log = logging.getLogger("central.residents")

CODE_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 5
MAX_CODES_PER_WINDOW = 3  # codes sent to one resident per CODE_WINDOW
CODE_WINDOW = timedelta(minutes=15)
TOKEN_TTL = timedelta(days=30)


class CodeSender(Protocol):
    def send_code(self, *, phone: str, code: str, resident_id: int, language: str) -> None: ...


class LogCodeSender:
    """Development: the code goes to the log, with the resident's id, never the phone."""

    def send_code(self, *, phone: str, code: str, resident_id: int, language: str) -> None:
        log.info("sign-in code", extra={"resident_id": resident_id, "code": code})


class SmsCodeSender:
    """An SMS gateway over HTTP: POST ``{"to", "text"}`` with a bearer key."""

    TEXT: ClassVar[dict[str, str]] = {
        "en": "Your Prepaid sign-in code is {code}. It expires in 5 minutes.",
        "zh_CN": "您的登录验证码为{code}，5分钟内有效。",
    }

    def __init__(self, url: str, api_key: str, timeout_s: float = 10) -> None:
        self.url, self.api_key, self.timeout_s = url, api_key, timeout_s

    def send_code(self, *, phone: str, code: str, resident_id: int, language: str) -> None:
        import json

        text = self.TEXT.get(language, self.TEXT["en"]).format(code=code)
        request = urllib.request.Request(
            self.url,
            data=json.dumps({"to": phone, "text": text}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
            if answer.status >= 300:
                raise OSError(f"the SMS gateway answered {answer.status}")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _find_resident(conn: Connection, phone: str) -> tuple[int, str, str] | None:
    row = conn.execute(
        select(residents.c.id, residents.c.phone, residents.c.language)
        .where(residents.c.phone == normalise_phone(phone), residents.c.moved_out_at.is_(None))
        .order_by(residents.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else (int(row.id), str(row.phone), str(row.language))


def request_code(conn: Connection, sender: CodeSender, phone: str) -> None:
    """Send a code if the phone belongs to a current resident; silent otherwise."""
    found = _find_resident(conn, phone)
    if found is None:
        log.info("sign-in code asked for an unknown phone")
        return
    resident_id, stored_phone, language = found
    now = utcnow()
    recent = conn.execute(
        select(func.count())
        .select_from(resident_codes)
        .where(
            resident_codes.c.resident_id == resident_id,
            resident_codes.c.created_at > now - CODE_WINDOW,
        )
    ).scalar_one()
    if recent >= MAX_CODES_PER_WINDOW:
        log.warning("sign-in codes rate-limited", extra={"resident_id": resident_id})
        return
    code = f"{secrets.randbelow(10**6):06d}"
    conn.execute(
        insert(resident_codes).values(
            resident_id=resident_id,
            code_hash=_digest(code),
            created_at=now,
            expires_at=now + CODE_TTL,
        )
    )
    sender.send_code(phone=stored_phone, code=code, resident_id=resident_id, language=language)


def exchange_code(conn: Connection, phone: str, code: str) -> tuple[str, int] | None:
    """A valid, unused, unexpired code for this phone becomes a household token.

    A refusal is a value (``None``), not an exception, because a wrong try must
    still be counted: the caller commits, then refuses."""
    found = _find_resident(conn, phone)
    if found is None:
        return None
    resident_id = found[0]
    now = utcnow()
    row = conn.execute(
        select(resident_codes.c.id, resident_codes.c.code_hash, resident_codes.c.attempts)
        .where(
            resident_codes.c.resident_id == resident_id,
            resident_codes.c.used_at.is_(None),
            resident_codes.c.expires_at > now,
        )
        .order_by(resident_codes.c.id.desc())
        .limit(1)
    ).first()
    if row is None or row.attempts >= MAX_ATTEMPTS:
        return None
    if not hmac.compare_digest(row.code_hash, _digest(code.strip())):
        conn.execute(
            update(resident_codes)
            .where(resident_codes.c.id == row.id)
            .values(attempts=resident_codes.c.attempts + 1)
        )
        return None
    conn.execute(update(resident_codes).where(resident_codes.c.id == row.id).values(used_at=now))
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(resident_tokens).values(
            token_hash=_digest(token),
            resident_id=resident_id,
            created_at=now,
            expires_at=now + TOKEN_TTL,
        )
    )
    return token, int(TOKEN_TTL.total_seconds())


def principal_for(conn: Connection, token: str) -> Principal | None:
    """The resident behind a token, scoped to their household; None if it is not one."""
    row = conn.execute(
        select(
            resident_tokens.c.resident_id,
            resident_tokens.c.expires_at,
            resident_tokens.c.revoked_at,
            residents.c.moved_out_at,
            units.c.code,
        )
        .join(residents, residents.c.id == resident_tokens.c.resident_id)
        .join(units, units.c.id == residents.c.unit_id)
        .where(resident_tokens.c.token_hash == _digest(token))
    ).first()
    if row is None:
        return None
    if row.revoked_at is not None or row.moved_out_at is not None or row.expires_at <= utcnow():
        raise Unauthorized("the session has ended: sign in again", code="invalid_token")
    return Principal("resident", str(row.resident_id), Role.RESIDENT, unit=row.code)


def revoke_all(conn: Connection, resident_id: int) -> None:
    conn.execute(
        update(resident_tokens)
        .where(resident_tokens.c.resident_id == resident_id, resident_tokens.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
