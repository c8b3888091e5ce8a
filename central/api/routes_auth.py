"""Signing staff in and out, and adding staff."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from importlib import metadata
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from central.api import models as m
from central.api.deps import Db, IdempotencyKey, get_settings, require, write
from central.api.routes_ledger import Responses
from central.audit import log as audit
from central.auth import staff as staff_auth
from central.auth.principal import Principal, Role
from central.errors import InvalidRequest, Unauthorized
from central.settings import Settings

router = APIRouter(prefix="/v1", tags=["auth"])
log = logging.getLogger("central.api")


@router.get("/health", response_model=m.HealthOut)
def health() -> m.HealthOut:
    """Liveness and the server's clock (terminals correct their own against it)."""
    try:
        version = metadata.version("prepaid")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return m.HealthOut(status="ok", server_time=datetime.now(UTC).isoformat(), version=version)


@router.post("/auth/token", response_model=m.TokenOut, responses=Responses)
def sign_in(
    body: m.TokenIn,
    request: Request,
    db: Db,
    settings: Annotated[Settings, Depends(get_settings)],
) -> m.TokenOut:
    """Exchange a staff username and password for a bearer token that expires."""
    remote = request.client.host if request.client else None
    try:
        with db.write() as conn:
            token, ttl = staff_auth.issue_token(
                conn, username=body.username, password=body.password, ttl_s=settings.token_ttl_s
            )
            principal = replace(staff_auth.principal_for(conn, token), remote=remote)
            audit.record(conn, principal, action="sign_in", subject=principal.actor)
    except Unauthorized:
        log.warning("sign-in refused", extra={"username": body.username, "remote": remote})
        raise
    return m.TokenOut(access_token=token, expires_in=ttl)


@router.post("/auth/revoke", status_code=204, responses=Responses)
def sign_out(
    request: Request,
    db: Db,
    principal: Annotated[
        Principal, Depends(require(Role.MANAGER, Role.CASHIER, Role.TECHNICIAN, Role.AUDITOR))
    ],
) -> None:
    """Revoke the bearer token this request carries."""
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    with db.write() as conn:
        staff_auth.revoke_token(conn, token)
        audit.record(conn, principal, action="sign_out", subject=principal.actor)


@router.get("/audit", response_model=list[m.AuditEntryOut], responses=Responses)
def list_audit(
    db: Db,
    principal: Annotated[Principal, Depends(require(Role.AUDITOR, Role.MANAGER))],
    actor: str | None = None,
    action: str | None = None,
    subject: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[m.AuditEntryOut]:
    """The audit log, newest first, filtered by actor (``staff:alice``), action, subject, time."""
    for moment in (since, until):
        if moment is not None and moment.tzinfo is None:
            raise InvalidRequest("give times with a zone, e.g. 2026-11-25T08:00:00+08:00")
    with db.read() as conn:
        found = audit.entries(
            conn, actor=actor, action=action, subject=subject, since=since, until=until, limit=limit
        )
    return [
        m.AuditEntryOut(
            id=e.id,
            at=e.at.isoformat(),
            actor=e.actor,
            role=e.role,
            action=e.action,
            subject=e.subject,
            remote=e.remote,
            idempotency_key=e.idempotency_key,
            before=e.before,
            after=e.after,
        )
        for e in found
    ]


@router.post("/staff", status_code=201, response_model=m.CreatedOut, responses=Responses)
def add_staff(
    body: m.StaffIn,
    db: Db,
    principal: Annotated[Principal, Depends(require(Role.MANAGER))],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Add a staff member with a role (manager, cashier, technician, auditor)."""
    request = {"username": body.username, "role": body.role}  # never store the password
    return write(
        db,
        principal=principal,
        key=key,
        operation="add_staff",
        request=request,
        subject=f"staff:{body.username}",
        apply=lambda conn: {
            "id": staff_auth.create_staff(
                conn, username=body.username, password=body.password, role=Role(body.role)
            )
        },
    )
