"""Payment-provider back office: refunds the way the money came, the daily settlement."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from central.api import models as m
from central.api.deps import Db, EstateDep, IdempotencyKey, context, require, write
from central.auth.principal import Principal, Role
from central.ledger.idempotency import check_key
from central.payments import files
from central.payments.provider import ProviderApi
from central.payments.reconcile import reconcile
from central.payments.refunds import ledger_key, refund_id_for, refund_top_up
from central.payments.settle import post_settlement

router = APIRouter(prefix="/v1/payments", tags=["payments"])

ManagerRoles = require(Role.MANAGER)
ReadRoles = require(Role.MANAGER, Role.AUDITOR)

Responses: dict[int | str, dict[str, Any]] = {
    code: {"model": m.ErrorOut} for code in (401, 403, 404, 409, 422, 503)
}


class ProviderRefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transaction_id: Annotated[str, Field(min_length=1, max_length=32)]
    amount: m.Amount
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    # The provider's refund id; default one per Idempotency-Key. Name it to make sure a
    # second request (under a new key) cannot refund the same thing twice.
    refund_id: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")] = None
    order_id: Annotated[str | None, Field(max_length=128)] = None


def provider_of(request: Request) -> ProviderApi:
    """The provider the app was given (tests), else the one the environment names."""
    given: ProviderApi | None = getattr(request.app.state, "payment_provider", None)
    return given or ProviderApi.from_env()


@router.post("/refunds", status_code=201, responses=Responses)
def provider_refund(
    body: ProviderRefundIn,
    request: Request,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(ManagerRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Refund (part of) a QR top-up through the provider that paid it; once per refund id.

    Refused before the provider is asked when it is more than is left to refund
    (`refund_exceeds_payment`), more than the wallet has (`insufficient_funds`),
    or not a provider top-up (`refund_at_desk`). `503 provider_unavailable`:
    nothing was posted; send the same request again.
    """
    key = check_key(key)
    refund_id = body.refund_id or refund_id_for(key)
    provider = provider_of(request)

    def apply(conn: Connection) -> dict[str, Any]:
        return refund_top_up(
            conn,
            context(estate, principal, ledger_key(refund_id)),
            provider,
            transaction_id=body.transaction_id,
            amount=body.amount,
            currency=body.currency,
            refund_id=refund_id,
            order_id=body.order_id,
        )

    return write(
        db,
        principal=principal,
        key=key,
        operation="provider_refund",
        request=body.model_dump(),
        subject=body.transaction_id,
        apply=apply,
    )


@router.get("/settlements/{day}", responses=Responses)
def settlement_report(
    day: date,
    request: Request,
    db: Db,
    estate: EstateDep,
    _: Annotated[Principal, Depends(ReadRoles)],
) -> dict[str, Any]:
    """The provider's settlement file of `day`, fetched and reconciled against the
    clearing account: matched lines, lines missing in the ledger, ledger movements
    missing in the file, amount mismatches, the clearing figures. Posts nothing."""
    provider = provider_of(request)
    file = files.fetch(provider, day)
    with db.read() as conn:
        return reconcile(conn, estate=estate, provider=provider.name, file=file)


@router.post("/settlements/{day}", status_code=201, responses=Responses)
def post_settlement_of(
    day: date,
    request: Request,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(ManagerRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Fetch and reconcile the settlement file of `day`, then post its fee and its payout
    to the bank, once per file id (the same file again answers the first posting;
    another file under the same id is `409 settlement_changed`)."""
    key = check_key(key)
    provider = provider_of(request)
    file = files.fetch(provider, day)
    return write(
        db,
        principal=principal,
        key=key,
        operation="provider_settlement",
        request={"day": day.isoformat(), "provider": provider.name},
        subject=file.settlement_id,
        apply=lambda conn: post_settlement(
            conn, context(estate, principal, key), provider=provider.name, file=file
        ),
    )
