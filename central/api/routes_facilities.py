"""Facility endpoints: set up gyms, pools and laundries, sell passes, admit, run sessions.

An entry answers ``200`` with ``allowed`` true or false: a refusal (closed now,
no money, pass expired, anti-passback, a low-assurance card over its cap) is a
business answer the turnstile shows and journals, not an error. Every write
takes an ``Idempotency-Key``: a turnstile retrying after a lost answer gets the
same decision and is charged once.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictInt

from central.api.deps import Db, EstateDep, IdempotencyKey, context, require, write
from central.auth.principal import Principal, Role
from central.db.types import utcnow
from central.facilities import service

router = APIRouter(prefix="/v1/facilities", tags=["facilities"])

ManagerRoles = require(Role.MANAGER)
ReadRoles = require(Role.MANAGER, Role.CASHIER, Role.AUDITOR, Role.TECHNICIAN, Role.TERMINAL)
SellRoles = require(Role.MANAGER, Role.CASHIER)
GateRoles = require(Role.MANAGER, Role.TERMINAL)

Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
Price = Annotated[str, Field(max_length=20, pattern=r"^\d+(\.\d+)?$", description="major units")]


class FacilityIn(BaseModel):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=100)]
    kind: Literal["gym", "pool", "laundry", "club_room"]
    pricing: Literal["per_use", "per_minute", "pass_only"]
    price: Price = "0"
    rate_per_minute: Price | None = None
    max_minutes: Annotated[StrictInt, Field(ge=1, le=24 * 60)] | None = None
    minimum_minutes: Annotated[StrictInt, Field(ge=0, le=24 * 60)] = 1
    grace_s: Annotated[StrictInt, Field(ge=0, le=3600)] = 0
    hours: dict[str, list[str]] | None = Field(
        default=None, description='{"mon-fri": ["06:00-22:00"], "sat,sun": ["08:00-20:00"]}'
    )
    allow_low_assurance: bool = True
    low_assurance_daily_cap: Annotated[StrictInt, Field(ge=0)] = 0
    passback_timeout_s: Annotated[StrictInt, Field(ge=0, le=7 * 86400)] = 7200


class PassProductIn(BaseModel):
    code: Code
    kind: Literal["monthly", "visits"]
    price: Price
    months: Annotated[StrictInt, Field(ge=1, le=24)] = 1
    visits: Annotated[StrictInt, Field(ge=0, le=1000)] = 0
    valid_days: Annotated[StrictInt, Field(ge=1, le=3660)] = 365


class PassIn(BaseModel):
    unit: Annotated[str, Field(min_length=1, max_length=32)]
    product: Code
    start: date | None = None


class EntryIn(BaseModel):
    unit: Annotated[str, Field(min_length=1, max_length=32)]
    credential: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="the credential's keyed hash, never a card number"
    )
    low_assurance: bool = False


class ExitIn(BaseModel):
    unit: Annotated[str, Field(min_length=1, max_length=32)]


class ServiceIn(BaseModel):
    in_service: bool


@router.post("", status_code=201)
def create_facility(
    body: FacilityIn,
    db: Db,
    principal: Annotated[Principal, Depends(ManagerRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """A gym, pool, laundry machine or club room with its price and opening hours."""
    request = body.model_dump()
    return write(
        db,
        principal=principal,
        key=key,
        operation="facility.create",
        request=request,
        subject=body.code,
        apply=lambda conn: service.create_facility(conn, **request, now=utcnow()),
    )


@router.get("")
def list_facilities(
    db: Db, principal: Annotated[Principal, Depends(ReadRoles)]
) -> list[dict[str, Any]]:
    """Every facility with its prices, hours and pass products."""
    with db.read() as conn:
        return service.list_facilities(conn)


@router.get("/{code}")
def get_facility(
    code: str, db: Db, principal: Annotated[Principal, Depends(ReadRoles)]
) -> dict[str, Any]:
    with db.read() as conn:
        return service.describe(conn, code)


@router.put("/{code}/service")
def set_in_service(
    code: str,
    body: ServiceIn,
    db: Db,
    principal: Annotated[Principal, Depends(ManagerRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Take a facility out of service (repairs, cleaning) or back in."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="facility.service",
        request={"facility": code, **body.model_dump()},
        subject=code,
        status_code=200,
        apply=lambda conn: service.set_in_service(conn, code, body.in_service),
    )


@router.post("/{code}/pass-products", status_code=201)
def add_pass_product(
    code: str,
    body: PassProductIn,
    db: Db,
    principal: Annotated[Principal, Depends(ManagerRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """A pass on sale: monthly, or a number of visits."""
    request = body.model_dump()
    return write(
        db,
        principal=principal,
        key=key,
        operation="facility.pass_product",
        request={"facility": code, **request},
        subject=code,
        apply=lambda conn: service.add_pass_product(conn, facility=code, **request, now=utcnow()),
    )


@router.post("/passes", status_code=201)
def buy_pass(
    body: PassIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(SellRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Sell a pass to a unit: its price comes out of the services wallet."""
    request = body.model_dump(mode="json")

    def apply(conn: Any) -> dict[str, Any]:
        ctx = context(estate, principal, key or "")
        return service.buy_pass(conn, ctx, unit=body.unit, product=body.product, start=body.start)

    return write(
        db, principal=principal, key=key, operation="facility.pass", request=request, apply=apply
    )


@router.post("/{code}/entries")
def enter(
    code: str,
    body: EntryIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(GateRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Decide an entry and carry it out: a pass visit, a charge per use, or (per
    minute) a hold and a running session. ``allowed: false`` comes with a reason."""
    request = {"facility": code, **body.model_dump()}

    def apply(conn: Any) -> dict[str, Any]:
        ctx = context(estate, principal, key or "")
        return service.enter(conn, ctx, facility=code, **body.model_dump())

    return write(
        db,
        principal=principal,
        key=key,
        operation="facility.entry",
        request=request,
        status_code=200,
        apply=apply,
    )


@router.post("/{code}/exits")
def leave(
    code: str,
    body: ExitIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(GateRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Someone left: their pass may enter again (anti-passback)."""
    request = {"facility": code, **body.model_dump()}

    def apply(conn: Any) -> dict[str, Any]:
        return service.leave(
            conn, context(estate, principal, key or ""), facility=code, unit=body.unit
        )

    return write(
        db,
        principal=principal,
        key=key,
        operation="facility.exit",
        request=request,
        status_code=200,
        apply=apply,
    )


@router.post("/sessions/{session_id}/stop")
def stop_session(
    session_id: str,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(GateRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """A per-minute session ends: the minutes used are captured from its hold."""

    def apply(conn: Any) -> dict[str, Any]:
        ctx = context(estate, principal, key or "")
        return service.stop_session(conn, ctx, session_id=session_id)

    return write(
        db,
        principal=principal,
        key=key,
        operation="facility.session_stop",
        request={"session_id": session_id},
        status_code=200,
        apply=apply,
    )
