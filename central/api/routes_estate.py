"""Estate registry endpoints: sites, buildings, units, residents, credentials, wallets."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from sqlalchemy import select

from central.api import models as m
from central.api.deps import Db, EstateDep, IdempotencyKey, require, write
from central.api.routes_ledger import Responses
from central.auth.principal import Principal, Role
from central.db.schema import accounts
from central.estate import registry
from central.ledger.statements import statement

router = APIRouter(prefix="/v1", tags=["estate"])

ManagerRoles = require(Role.MANAGER)
ReadRoles = require(Role.MANAGER, Role.CASHIER, Role.AUDITOR)


@router.get("/estate", response_model=m.EstateOut, responses=Responses)
def get_estate(
    estate: EstateDep, principal: Annotated[Principal, Depends(ReadRoles)]
) -> m.EstateOut:
    """The estate's name, currency, time zone, locale and emergency credit."""
    return m.EstateOut(
        name=estate.name,
        legal_name=estate.legal_name,
        currency=estate.currency,
        timezone=estate.timezone,
        locale=estate.locale,
        emergency_credit=estate.emergency_credit,
    )


@router.post("/sites", status_code=201, response_model=m.CreatedOut, responses=Responses)
def add_site(
    body: m.SiteIn,
    db: Db,
    principal: Annotated[Principal, Depends(ManagerRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    return write(
        db,
        principal=principal,
        key=key,
        operation="add_site",
        request=body.model_dump(),
        apply=lambda conn: {"id": registry.add_site(conn, **body.model_dump())},
    )


@router.post("/buildings", status_code=201, response_model=m.CreatedOut, responses=Responses)
def add_building(
    body: m.BuildingIn,
    db: Db,
    principal: Annotated[Principal, Depends(ManagerRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    return write(
        db,
        principal=principal,
        key=key,
        operation="add_building",
        request=body.model_dump(),
        apply=lambda conn: {"id": registry.add_building(conn, **body.model_dump())},
    )


@router.post("/units", status_code=201, response_model=m.CreatedOut, responses=Responses)
def add_unit(
    body: m.UnitIn,
    db: Db,
    principal: Annotated[Principal, Depends(ManagerRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Add a unit; its seven wallets open with it."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="add_unit",
        request=body.model_dump(mode="json"),
        apply=lambda conn: {"id": registry.add_unit(conn, **body.model_dump())},
    )


@router.get("/units", response_model=list[m.UnitOut], responses=Responses)
def list_units(db: Db, principal: Annotated[Principal, Depends(ReadRoles)]) -> list[m.UnitOut]:
    with db.read() as conn:
        return [_unit_out(u) for u in registry.list_units(conn)]


def _unit_out(view: registry.UnitView) -> m.UnitOut:
    return m.UnitOut(
        code=view.code,
        building=view.building,
        number=view.number,
        floor=view.floor,
        area_m2=view.area_m2,
        kind=view.kind,
    )


@router.get("/units/{unit}", response_model=m.UnitOut, responses=Responses)
def get_unit(unit: str, db: Db, principal: Annotated[Principal, Depends(ReadRoles)]) -> m.UnitOut:
    with db.read() as conn:
        return _unit_out(registry.get_unit(conn, unit))


@router.get("/units/{unit}/wallets", response_model=list[m.WalletOut], responses=Responses)
def list_wallets(
    unit: str, db: Db, principal: Annotated[Principal, Depends(ReadRoles)]
) -> list[m.WalletOut]:
    """Every wallet of a unit with its balance, money on hold and what is available."""
    with db.read() as conn:
        unit_id = registry.unit_id(conn, unit)
        rows = conn.execute(
            select(
                accounts.c.code,
                accounts.c.purpose,
                accounts.c.currency,
                accounts.c.balance,
                accounts.c.held,
                accounts.c.floor,
            )
            .where(accounts.c.unit_id == unit_id)
            .order_by(accounts.c.id)
        ).all()
    return [
        m.WalletOut(
            wallet=r.code,
            purpose=r.purpose,
            currency=r.currency,
            balance=r.balance,
            held=r.held,
            available=r.balance - r.held - (r.floor or 0),
            floor=r.floor or 0,
        )
        for r in rows
    ]


@router.get(
    "/units/{unit}/wallets/{wallet}/statement", response_model=m.StatementOut, responses=Responses
)
def get_statement(
    unit: str,
    wallet: str,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(ReadRoles)],
    period_from: Annotated[date, Query(alias="from")],
    period_to: Annotated[date, Query(alias="to")],
) -> m.StatementOut:
    """A wallet's postings over a period (local dates, inclusive) with a running balance."""
    with db.read() as conn:
        st = statement(
            conn,
            unit=unit,
            purpose=wallet,
            period_from=period_from,
            period_to=period_to,
            zone=estate.zone,
        )
    return m.StatementOut(
        wallet=st.wallet,
        currency=st.currency,
        timezone=st.timezone,
        period_from=st.period_from,
        period_to=st.period_to,
        opening=st.opening,
        closing=st.closing,
        lines=[
            m.StatementLineOut(
                transaction_id=line.transaction_id,
                at=line.at.isoformat(),
                kind=line.kind,
                memo=line.memo,
                amount=line.amount,
                balance=line.balance,
            )
            for line in st.lines
        ],
    )


@router.post("/residents", status_code=201, response_model=m.CreatedOut, responses=Responses)
def add_resident(
    body: m.ResidentIn,
    db: Db,
    principal: Annotated[Principal, Depends(ManagerRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    return write(
        db,
        principal=principal,
        key=key,
        operation="add_resident",
        request=body.model_dump(),
        apply=lambda conn: {"id": registry.add_resident(conn, **body.model_dump())},
    )


@router.post("/credentials", status_code=201, response_model=m.CreatedOut, responses=Responses)
def add_credential(
    body: m.CredentialIn,
    db: Db,
    principal: Annotated[Principal, Depends(ManagerRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Register a card, plate or QR credential to a unit."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="add_credential",
        request=body.model_dump(),
        apply=lambda conn: {"id": registry.add_credential(conn, **body.model_dump())},
    )


@router.post(
    "/credentials/{credential_id}/status", response_model=m.CreatedOut, responses=Responses
)
def set_credential_status(
    credential_id: int,
    body: m.CredentialStatusIn,
    db: Db,
    principal: Annotated[Principal, Depends(ManagerRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Mark a credential lost or revoked (or active again)."""

    def apply(conn: Any) -> dict[str, Any]:
        registry.set_credential_status(conn, credential_id, body.status)
        return {"id": credential_id, "status": body.status}

    return write(
        db,
        principal=principal,
        key=key,
        operation="credential_status",
        request={"id": credential_id, **body.model_dump()},
        apply=apply,
        subject=f"credential:{credential_id}",
        before=lambda conn: {"status": registry.credential_status(conn, credential_id)},
        status_code=200,
    )
