"""What every route needs: the database, the estate, the caller and their role."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from central.audit import log as audit
from central.auth import staff as staff_auth
from central.auth.principal import Principal, Role
from central.auth.terminals import TerminalVerifier, is_signed
from central.db.database import Database
from central.errors import Forbidden, Unauthorized
from central.estate import settings as estate_settings
from central.estate.settings import Estate
from central.ledger.idempotency import check_key, run_once
from central.ledger.operations import Context
from central.residents import login as resident_login
from central.settings import Settings

log = logging.getLogger("central.api")


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


Db = Annotated[Database, Depends(get_db)]


def get_estate(request: Request, db: Db) -> Estate:
    """The estate's settings never change once set, so one read serves the process."""
    cached: Estate | None = getattr(request.app.state, "estate", None)
    if cached is None:
        with db.read() as conn:
            cached = estate_settings.load(conn)
        request.app.state.estate = cached
    return cached


EstateDep = Annotated[Estate, Depends(get_estate)]


def _bearer(db: Database, authorization: str) -> Principal:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("use 'Authorization: Bearer <token>'", code="invalid_token")
    with db.read() as conn:
        resident = resident_login.principal_for(conn, token.strip())
        if resident is not None:
            return resident
        return staff_auth.principal_for(conn, token.strip())


async def authenticate(request: Request) -> Principal:
    principal = await _identify(request)
    return replace(principal, remote=request.client.host if request.client else None)


async def _identify(request: Request) -> Principal:
    db: Database = request.app.state.db
    if is_signed(request.headers):
        verifier: TerminalVerifier = request.app.state.terminal_verifier
        body = await request.body()

        def verify() -> Principal:
            with db.write() as conn:  # a nonce is recorded as it is checked
                return verifier(
                    conn,
                    method=request.method,
                    path=request.url.path,
                    headers=request.headers,
                    body=body,
                )

        return await run_in_threadpool(verify)
    authorization = request.headers.get("authorization")
    if not authorization:
        raise Unauthorized("sign in first: this endpoint needs a bearer token", code="no_token")
    return await run_in_threadpool(_bearer, db, authorization)


def require(*roles: Role) -> Callable[..., Any]:
    """A dependency admitting only callers with one of ``roles``."""
    allowed = frozenset(roles)

    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"a {principal.role.value} may not do this", code="role_not_allowed")
        return principal

    check.allowed_roles = allowed  # type: ignore[attr-defined]
    return check


IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def context(estate: Estate, principal: Principal, key: str) -> Context:
    return Context(
        estate=estate,
        idempotency_key=key,
        actor=principal.actor,
        terminal_id=principal.id if principal.kind == "terminal" else None,
    )


def write(
    db: Database,
    *,
    principal: Principal,
    key: str | None,
    operation: str,
    request: dict[str, Any],
    apply: Callable[[Connection], dict[str, Any]],
    status_code: int = 201,
    subject: str | None = None,
    before: Callable[[Connection], Any] | None = None,
) -> JSONResponse:
    """Run one write exactly once per idempotency key, in one transaction.

    A staff member's write is recorded in the audit log in that same
    transaction: if the entry cannot be written, neither is the action.
    """
    key = check_key(key)
    for attempt in (1, 2):
        try:
            with db.write() as conn:
                prior = before(conn) if before else None
                outcome = run_once(
                    conn,
                    key=key,
                    operation=operation,
                    request=request,
                    apply=lambda: apply(conn),
                    status_code=status_code,
                )
                if not outcome.replayed and principal.kind == "staff":
                    audit.record(
                        conn,
                        principal,
                        action=operation,
                        subject=subject or request.get("unit"),
                        before=prior,
                        after={"request": request, "result": outcome.body},
                        idempotency_key=key,
                    )
            break
        except IntegrityError:
            # Another request with this key committed first: the second attempt
            # finds its answer and replays it (or reports the conflict).
            if attempt == 2:
                raise
    log.info(
        "write",
        extra={
            "actor": principal.actor,
            "operation": operation,
            "idempotency_key": key,
            "transaction_id": outcome.body.get("transaction_id"),
            "unit": request.get("unit"),
            "replayed": outcome.replayed,
        },
    )
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)
