"""Kiosk cash boxes: the collections the kiosks journalled, and the back office's count."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sqlalchemy import Connection

from central.api import models as m
from central.api.deps import Db, EstateDep, IdempotencyKey, context, require, write
from central.auth.principal import Principal, Role
from central.cash import recount, service, unapplied
from central.ledger.idempotency import check_key

router = APIRouter(prefix="/v1/cash", tags=["cash"])

Managers = require(Role.MANAGER)
Readers = require(Role.MANAGER, Role.AUDITOR)

Responses: dict[int | str, dict[str, Any]] = {
    code: {"model": m.ErrorOut} for code in (401, 403, 404, 409, 422)
}
CollectionId = Annotated[int, Path(ge=1, le=2**63 - 1)]
TerminalId = Annotated[str, Path(min_length=1, max_length=64)]
Seq = Annotated[int, Path(ge=1, le=2**63 - 1)]


class CountIn(BaseModel):
    """The office's count: per denomination (minor units -> pieces) or only a total."""

    model_config = ConfigDict(extra="forbid")

    counts: Annotated[dict[str, StrictInt] | None, Field(max_length=64)] = None
    total: StrictInt | None = None


class RecountIn(CountIn):
    """A correction of the count in force, and why."""

    reason: Annotated[str, Field(max_length=400)]


class AlreadyCountedOut(BaseModel):
    """A 409: ``already_counted`` carries the first count; a reused Idempotency-Key
    with another request (``idempotency_conflict``) carries only the error."""

    error: m.ErrorDetail
    collection: dict[str, Any] | None = None


class CreditIn(BaseModel):
    """The wallet a refused cash top-up's money goes into."""

    model_config = ConfigDict(extra="forbid")

    unit: Annotated[str, Field(min_length=1, max_length=32)]
    wallet: Annotated[str, Field(min_length=1, max_length=32)]


@router.get("/collections", responses=Responses)
def list_collections(
    db: Db,
    _: Annotated[Principal, Depends(Readers)],
    terminal: Annotated[str | None, Query(max_length=64)] = None,
    status: Literal["open", "counted"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Cash boxes the kiosks had pulled, newest first: the kiosk's count per denomination
    (`expected`), the office's (`counted`), `variance` (counted - expected: negative is
    short), the status (`open` until counted) and the count's transaction."""
    with db.read() as conn:
        return service.list_collections(conn, terminal=terminal, status=status, limit=limit)


@router.get("/collections/{collection_id}", responses=Responses)
def get_collection(
    collection_id: CollectionId, db: Db, _: Annotated[Principal, Depends(Readers)]
) -> dict[str, Any]:
    """One collection: expected per denomination, counted, variance, status, transaction."""
    with db.read() as conn:
        return service.get_collection(conn, collection_id)


@router.post(
    "/collections/{collection_id}/count",
    status_code=201,
    responses={**Responses, 409: {"model": AlreadyCountedOut}},
)
def count_collection(
    collection_id: CollectionId,
    body: CountIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(Managers)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Enter the office's count of a pulled cash box, per denomination
    (`{"counts": {"10000": 3}}`) or as a total in minor units (`{"total": 30000}`).

    Posts one transaction, once per collection: `cash_box:<kiosk>` relieved of the
    kiosk's count, `clearing:bank` the counted amount, `variance:cash` the difference
    (short: debited, over: credited). A second count is `409 already_counted` with
    the first one; the same Idempotency-Key again answers the first answer."""
    key = check_key(key)
    count = service.parse_count(counts=body.counts, total=body.total)

    def apply(conn: Connection) -> dict[str, Any]:
        return service.count_collection(conn, context(estate, principal, key), collection_id, count)

    try:
        return write(
            db,
            principal=principal,
            key=key,
            operation="cash_count",
            request={"id": collection_id, **body.model_dump()},
            subject=f"cash_collection:{collection_id}",
            apply=apply,
        )
    except service.AlreadyCounted as err:
        return JSONResponse(
            {"error": {"code": err.code, "message": err.message}, "collection": err.collection},
            status_code=err.status,
        )


@router.post("/collections/{collection_id}/recount", status_code=201, responses=Responses)
def recount_collection(
    collection_id: CollectionId,
    body: RecountIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(Managers)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Correct a collection's count: the whole recount, per denomination or as a total,
    with its reason (`{"counts": {"10000": 3}, "reason": "a note stuck in the
    cassette"}`), by a manager other than whoever made the count in force.

    The count stays on record; the recount is appended (`recounts`) and becomes the
    count in force (`counted`, `variance`). Its difference moves in one transaction
    between `clearing:bank` and `variance:cash`; the kiosk's box is not touched.
    `409 not_counted` before the first count, `409 second_person_required` from the
    counter, `409 count_unchanged` when it changes nothing; the same
    Idempotency-Key again answers the first answer."""
    key = check_key(key)
    count = service.parse_count(counts=body.counts, total=body.total)
    reason = recount.parse_reason(body.reason)

    def apply(conn: Connection) -> dict[str, Any]:
        return recount.recount_collection(
            conn, context(estate, principal, key), collection_id, count, reason
        )

    return write(
        db,
        principal=principal,
        key=key,
        operation="cash_recount",
        request={"id": collection_id, **body.model_dump()},
        subject=f"cash_collection:{collection_id}",
        apply=apply,
    )


@router.get("/unapplied", responses=Responses)
def list_unapplied(
    db: Db,
    _: Annotated[Principal, Depends(Readers)],
    terminal: Annotated[str | None, Query(max_length=64)] = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Cash the kiosks took for top-ups the ledger refused (the unit or wallet the
    kiosk named is not on the server), newest first: the amount, what was refused and
    why, and its credit (`credited`, null until the office credits it). The cash is
    in the kiosk's box: until credited, `cash_box:<kiosk>` holds it after the count."""
    with db.read() as conn:
        return unapplied.list_unapplied(conn, terminal=terminal, open_only=open_only, limit=limit)


@router.post("/unapplied/{terminal_id}/{seq}/credit", status_code=201, responses=Responses)
def credit_unapplied(
    terminal_id: TerminalId,
    seq: Seq,
    body: CreditIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(Managers)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Credit a refused cash top-up's money into the wallet the office names: one
    transaction from `cash_box:<kiosk>` into it, once per journal entry (a second
    credit is `409 already_credited`; the same Idempotency-Key again answers the
    first answer)."""
    key = check_key(key)

    def apply(conn: Connection) -> dict[str, Any]:
        return unapplied.credit(
            conn,
            context(estate, principal, key),
            terminal_id=terminal_id,
            seq=seq,
            unit=body.unit,
            wallet=body.wallet,
        )

    return write(
        db,
        principal=principal,
        key=key,
        operation="cash_unapplied_credit",
        request={"terminal": terminal_id, "seq": seq, **body.model_dump()},
        subject=f"journal:{terminal_id}:{seq}",
        apply=apply,
    )
