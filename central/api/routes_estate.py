"""Estate registry endpoints: sites, buildings, units, residents, credentials, wallets."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from central.api import models as m
from central.api.deps import Db, EstateDep, IdempotencyKey, context, require, write
from central.api.routes_ledger import Responses
from central.api.views import statement_out, unit_wallets
from central.audit import log as audit
from central.auth.principal import Principal, Role
from central.errors import InvalidRequest
from central.estate import csv_io, occupancy, registry
from central.ledger.statements import statement

router = APIRouter(prefix="/v1", tags=["estate"])
# Row ids fit a signed 64-bit integer on both databases.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]

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
        registry.unit_id(conn, unit)  # an unknown unit is a 404, not an empty list
        return unit_wallets(conn, unit)


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
    return statement_out(st)


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
    credential_id: RowId,
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


@router.post("/units/{unit}/move-in", status_code=201, responses=Responses)
def move_in(
    unit: str,
    body: m.MoveInIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(ManagerRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """A new resident moves into a unit."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="move_in",
        request={"unit": unit, **body.model_dump()},
        apply=lambda conn: occupancy.move_in(
            conn, context(estate, principal, key or ""), unit=unit, **body.model_dump()
        ),
    )


@router.post("/units/{unit}/move-out", status_code=201, responses=Responses)
def move_out(
    unit: str,
    body: m.MoveOutIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(ManagerRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """A resident moves out: credentials revoked; when the household empties, money
    left is refunded and debt stays with the departing resident, not the next occupant."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="move_out",
        request={"unit": unit, **body.model_dump()},
        apply=lambda conn: occupancy.move_out(
            conn, context(estate, principal, key or ""), unit=unit, **body.model_dump()
        ),
    )


@router.post("/residents/{resident_id}/erase", responses=Responses)
def erase_resident(
    resident_id: RowId,
    db: Db,
    principal: Annotated[Principal, Depends(ManagerRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Erase a resident's name, phone and e-mail; the ledger keeps balancing."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="erase_resident",
        request={"resident_id": resident_id},
        apply=lambda conn: occupancy.erase(conn, resident_id),
        status_code=200,
        subject=f"resident:{resident_id}",
    )


@router.get(
    "/registry/{kind}.csv",
    response_class=Response,
    responses={**Responses, 200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def export_registry(
    kind: str, db: Db, principal: Annotated[Principal, Depends(ManagerRoles)]
) -> Response:
    """The registry as CSV: ``units``, ``residents``, ``credentials`` or ``vehicles``."""
    with db.read() as conn:
        text = csv_io.export_csv(conn, kind)
    return Response(text, media_type="text/csv")


@router.post("/registry/{kind}", response_model=m.ImportOut, responses=Responses)
async def import_registry(
    kind: str,
    request: Request,
    db: Db,
    principal: Annotated[Principal, Depends(ManagerRoles)],
) -> m.ImportOut:
    """Import a CSV file (the export's columns). Any bad row: nothing imported, every
    bad row reported with its line number."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidRequest("the file is not UTF-8 text", code="malformed_csv") from err

    def run() -> int:
        with db.write() as conn:
            count = csv_io.import_csv(conn, kind, text)
            audit.record(
                conn, principal, action=f"import_{kind}", subject=kind, after={"rows": count}
            )
        return count

    return m.ImportOut(kind=kind, imported=await run_in_threadpool(run))
