"""Ledger endpoints: money in, money out, holds, reversals, batches, checks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection, select

from central.api import models as m
from central.api.deps import Db, EstateDep, IdempotencyKey, context, require, write
from central.auth.principal import Principal, Role
from central.db.schema import accounts, postings, transactions
from central.errors import InvalidRequest, NotFound
from central.ledger import operations as ops
from central.ledger import plans
from central.ledger.batch import Entry, Operation, Planner, apply_batch
from central.ledger.check import check
from central.ledger.operations import Context

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])

TopUpRoles = require(Role.MANAGER, Role.CASHIER, Role.TERMINAL)
ChargeRoles = require(Role.MANAGER, Role.TERMINAL)
ManagerRoles = require(Role.MANAGER)
RefundRoles = require(Role.MANAGER, Role.CASHIER)
ReadRoles = require(Role.MANAGER, Role.CASHIER, Role.AUDITOR)
BatchRoles = require(Role.MANAGER, Role.TERMINAL)

Responses: dict[int | str, dict[str, Any]] = {
    401: {"model": m.ErrorOut},
    403: {"model": m.ErrorOut},
    404: {"model": m.ErrorOut},
    409: {"model": m.ErrorOut},
    422: {"model": m.ErrorOut},
}


def _reversal(conn: Connection, ctx: Context, body: m.ReversalIn) -> dict[str, Any]:
    return ops.reverse(conn, ctx, transaction_id=body.transaction_id, reason=body.reason)


def _parse(model: type[BaseModel], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        raise InvalidRequest(
            f"{where or 'body'}: {first.get('msg', 'invalid')}", code="malformed_request"
        ) from err


def _planned(model: type[BaseModel], planner: Any, fields: dict[str, str]) -> Planner:
    """A batch planner: the body checked by the same model as the single endpoint."""

    def plan(resolve: Any, ctx: Context, body: dict[str, Any]) -> Any:
        parsed = _parse(model, body).model_dump()
        return planner(resolve, ctx, **{fields.get(k, k): v for k, v in parsed.items()})

    return plan


# What a batch may carry: simple movements planned in memory, reversals via the general path.
BATCH_PLANNERS: dict[str, Planner] = {
    "top_up": _planned(m.TopUpIn, plans.plan_top_up, {"wallet": "purpose"}),
    "charge": _planned(m.ChargeIn, plans.plan_charge, {"wallet": "purpose"}),
    "transfer": _planned(
        m.TransferIn,
        plans.plan_transfer,
        {"from_wallet": "from_purpose", "to_wallet": "to_purpose"},
    ),
    "refund": _planned(m.RefundIn, plans.plan_refund, {"wallet": "purpose"}),
}


def _move(conn: Connection, ctx: Context, operation: str, body: BaseModel) -> dict[str, Any]:
    """A single endpoint's movement: planned exactly as a batch entry, posted at once."""
    resolve = plans.DbResolver(conn, ctx.estate.currency)
    return ops.execute(conn, ctx, BATCH_PLANNERS[operation](resolve, ctx, body.model_dump()))


BATCH_OPERATIONS: dict[str, Operation] = {
    "reversal": lambda conn, ctx, body: _reversal(conn, ctx, _parse(m.ReversalIn, body)),
}


@router.post("/top-ups", status_code=201, response_model=m.TransactionOut, responses=Responses)
def top_up(
    body: m.TopUpIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(TopUpRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Put money into a wallet: cash at a kiosk, a provider payment, or the staff desk."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="top_up",
        request=body.model_dump(),
        apply=lambda conn: _move(conn, context(estate, principal, key or ""), "top_up", body),
    )


@router.post("/charges", status_code=201, response_model=m.TransactionOut, responses=Responses)
def charge(
    body: m.ChargeIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(ChargeRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Charge a wallet for a service; the money goes to that service's revenue."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="charge",
        request=body.model_dump(),
        apply=lambda conn: _move(conn, context(estate, principal, key or ""), "charge", body),
    )


@router.post("/transfers", status_code=201, response_model=m.TransactionOut, responses=Responses)
def transfer(
    body: m.TransferIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(ManagerRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Move money between two wallets of one unit (never out of the maintenance fund)."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="transfer",
        request=body.model_dump(),
        apply=lambda conn: _move(conn, context(estate, principal, key or ""), "transfer", body),
    )


@router.post("/refunds", status_code=201, response_model=m.TransactionOut, responses=Responses)
def refund(
    body: m.RefundIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(RefundRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Pay money back from a wallet, at the staff desk or through the provider it came by."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="refund",
        request=body.model_dump(),
        apply=lambda conn: _move(conn, context(estate, principal, key or ""), "refund", body),
    )


@router.post("/reversals", status_code=201, response_model=m.TransactionOut, responses=Responses)
def reversal(
    body: m.ReversalIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(ManagerRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Reverse a named transaction by posting its mirror image; nothing is edited."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="reversal",
        request=body.model_dump(),
        subject=body.transaction_id,
        apply=lambda conn: _reversal(conn, context(estate, principal, key or ""), body),
    )


@router.post("/holds", status_code=201, response_model=m.HoldOut, responses=Responses)
def place_hold(
    body: m.HoldIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(ChargeRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Reserve money before the amount is known; capture or release it later."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="hold",
        request=body.model_dump(),
        apply=lambda conn: ops.place_hold(
            conn,
            context(estate, principal, key or ""),
            unit=body.unit,
            purpose=body.wallet,
            amount=body.amount,
            currency=body.currency,
            service=body.service,
        ),
    )


@router.post(
    "/holds/{hold_id}/capture",
    status_code=201,
    response_model=m.TransactionOut,
    responses=Responses,
)
def capture_hold(
    hold_id: str,
    body: m.CaptureIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(ChargeRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Charge the final amount of a hold (at most what it reserved) and free the rest."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="capture",
        request={"hold_id": hold_id, **body.model_dump()},
        subject=hold_id,
        apply=lambda conn: ops.capture_hold(
            conn,
            context(estate, principal, key or ""),
            hold_id=hold_id,
            amount=body.amount,
            currency=body.currency,
        ),
    )


@router.post(
    "/holds/{hold_id}/release", status_code=200, response_model=m.HoldOut, responses=Responses
)
def release_hold(
    hold_id: str,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(ChargeRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Free a hold without charging anything."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="release",
        request={"hold_id": hold_id},
        subject=hold_id,
        apply=lambda conn: ops.release_hold(
            conn, context(estate, principal, key or ""), hold_id=hold_id
        ),
        status_code=200,
    )


@router.post("/batch", response_model=m.BatchOut, responses=Responses)
def batch(
    body: m.BatchIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(BatchRoles)],
) -> m.BatchOut:
    """Apply many operations in one transaction, each exactly once, each with its verdict."""
    entries = [Entry(e.key, e.operation, e.body) for e in body.entries]
    with db.write() as conn:
        verdicts = apply_batch(
            conn,
            entries,
            planners=BATCH_PLANNERS,
            operations=BATCH_OPERATIONS,
            context_for=lambda key: context(estate, principal, key),
            currency=estate.currency,
        )
    results = [
        m.Verdict(key=v.key, verdict=v.verdict, code=v.code, message=v.message, result=v.result)  # type: ignore[arg-type]
        for v in verdicts
    ]
    return m.BatchOut(
        applied=sum(v.verdict == "applied" for v in verdicts),
        duplicate=sum(v.verdict == "duplicate" for v in verdicts),
        rejected=sum(v.verdict == "rejected" for v in verdicts),
        results=results,
    )


@router.get("/transactions/{transaction_id}", responses=Responses)
def get_transaction(
    transaction_id: str, db: Db, principal: Annotated[Principal, Depends(ReadRoles)]
) -> dict[str, Any]:
    """One transaction with its postings."""
    with db.read() as conn:
        row = conn.execute(select(transactions).where(transactions.c.id == transaction_id)).first()
        if row is None:
            raise NotFound(
                f"there is no transaction {transaction_id!r}", code="unknown_transaction"
            )
        legs = conn.execute(
            select(accounts.c.code, postings.c.amount)
            .join(accounts, accounts.c.id == postings.c.account_id)
            .where(postings.c.transaction_id == transaction_id)
            .order_by(postings.c.id)
        ).all()
    data = dict(row._mapping)
    data["created_at"] = data["created_at"].isoformat()
    data["postings"] = [{"account": code, "amount": amount} for code, amount in legs]
    return data


@router.get("/check", response_model=m.CheckOut, responses=Responses)
def run_check(db: Db, principal: Annotated[Principal, Depends(ReadRoles)]) -> m.CheckOut:
    """Recompute every balance from its postings and verify every transaction sums to zero."""
    with db.read() as conn:
        report = check(conn)
    return m.CheckOut(
        ok=report.ok,
        transactions=report.transactions,
        postings=report.postings,
        accounts=report.accounts,
        problems=[
            m.CheckProblemOut(kind=p.kind, subject=p.subject, detail=p.detail)
            for p in report.problems
        ],
    )
