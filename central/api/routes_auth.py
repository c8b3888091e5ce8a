"""Signing staff in and out, and adding staff."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import metadata
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from central.api import models as m
from central.api.deps import Db, IdempotencyKey, authenticate, get_settings, require, write
from central.api.routes_ledger import Responses
from central.auth import staff as staff_auth
from central.auth.principal import Principal, Role
from central.settings import Settings

router = APIRouter(prefix="/v1", tags=["auth"])


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
    body: m.TokenIn, db: Db, settings: Annotated[Settings, Depends(get_settings)]
) -> m.TokenOut:
    """Exchange a staff username and password for a bearer token that expires."""
    with db.write() as conn:
        token, ttl = staff_auth.issue_token(
            conn, username=body.username, password=body.password, ttl_s=settings.token_ttl_s
        )
    return m.TokenOut(access_token=token, expires_in=ttl)


@router.post("/auth/revoke", status_code=204, responses=Responses)
def sign_out(
    request: Request, db: Db, principal: Annotated[Principal, Depends(authenticate)]
) -> None:
    """Revoke the bearer token this request carries."""
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    with db.write() as conn:
        staff_auth.revoke_token(conn, token)


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
        key=key,
        operation="add_staff",
        request=request,
        apply=lambda conn: {
            "id": staff_auth.create_staff(
                conn, username=body.username, password=body.password, role=Role(body.role)
            )
        },
    )
