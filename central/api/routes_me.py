"""A resident's own household: sign-in by phone, wallets, statements, usage.

A resident token sees its own unit and nothing else. Another unit, a wallet of
another unit, another unit's transaction and a unit that does not exist all get
the same ``404 not_found`` with the same message, so the answer leaks nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from central.api import models as m
from central.api.deps import Db, EstateDep, require
from central.api.routes_ledger import Responses
from central.api.views import statement_out, unit_wallets
from central.auth.principal import Principal, Role
from central.db.schema import accounts, postings, transactions, units
from central.errors import NotFound, Unauthorized, Unavailable
from central.ledger.statements import statement
from central.residents import login
from central.residents.login import CodeSender, LogCodeSender, SmsCodeSender

router = APIRouter(prefix="/v1/me", tags=["residents"])
Resident = Annotated[Principal, Depends(require(Role.RESIDENT))]


def nothing_here() -> NotFound:
    return NotFound("nothing here for this account", code="not_found")


def own_unit(principal: Principal, unit: str) -> str:
    if principal.unit is None or unit != principal.unit:
        raise nothing_here()
    return unit


def _sender(request: Request) -> CodeSender:
    sender: CodeSender | None = getattr(request.app.state, "code_sender", None)
    if sender is not None:
        return sender
    settings = request.app.state.settings
    if settings.sms_gateway_url:
        return SmsCodeSender(settings.sms_gateway_url, settings.sms_gateway_key)
    if settings.is_production:
        raise Unavailable(
            "residents' sign-in needs an SMS gateway: set PREPAID_SMS_URL", code="no_sms_gateway"
        )
    return LogCodeSender()


@router.post("/sign-in/code", status_code=202, responses=Responses)
def ask_for_code(body: m.PhoneIn, request: Request, db: Db) -> JSONResponse:
    """Send a one-time sign-in code to this phone if it belongs to a resident.

    The answer is the same whether or not it does."""
    with db.write() as conn:
        login.request_code(conn, _sender(request), body.phone)
    return JSONResponse(
        {"sent": True, "message": "if this phone is registered, a code is on its way"},
        status_code=202,
    )


@router.post("/sign-in/token", response_model=m.TokenOut, responses=Responses)
def exchange_code(body: m.CodeIn, db: Db) -> m.TokenOut:
    """Exchange the phone and its one-time code for a token scoped to the household."""
    with db.write() as conn:
        issued = login.exchange_code(conn, body.phone, body.code)
    if issued is None:  # refused after the transaction kept count of the try
        raise Unauthorized("the code is wrong or has expired: ask for a new one", code="bad_code")
    token, ttl = issued
    return m.TokenOut(access_token=token, expires_in=ttl)


@router.get("", response_model=m.MeOut, responses=Responses)
def me(principal: Resident) -> m.MeOut:
    """Who this token is: the resident's id and their household's unit."""
    assert principal.unit is not None
    return m.MeOut(resident_id=int(principal.id), unit=principal.unit)


@router.get("/units/{unit}/wallets", response_model=list[m.WalletOut], responses=Responses)
def my_wallets(unit: str, db: Db, principal: Resident) -> list[m.WalletOut]:
    """Every wallet of the household with its balance and what is available."""
    own_unit(principal, unit)
    with db.read() as conn:
        return unit_wallets(conn, unit)


@router.get(
    "/units/{unit}/wallets/{wallet}/statement", response_model=m.StatementOut, responses=Responses
)
def my_statement(
    unit: str,
    wallet: str,
    db: Db,
    estate: EstateDep,
    principal: Resident,
    period_from: Annotated[date, Query(alias="from")],
    period_to: Annotated[date, Query(alias="to")],
) -> m.StatementOut:
    """A wallet's statement over a period (local dates, inclusive)."""
    own_unit(principal, unit)
    with db.read() as conn:
        try:
            st = statement(
                conn,
                unit=unit,
                purpose=wallet,
                period_from=period_from,
                period_to=period_to,
                zone=estate.zone,
            )
        except NotFound:
            raise nothing_here() from None
    return statement_out(st)


@router.get("/units/{unit}/usage", response_model=list[m.UsageDayOut], responses=Responses)
def my_usage(
    unit: str,
    db: Db,
    estate: EstateDep,
    principal: Resident,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> list[m.UsageDayOut]:
    """What the household was charged per wallet and local day, most recent first."""
    own_unit(principal, unit)
    since = datetime.now(estate.zone) - timedelta(days=days)
    with db.read() as conn:
        rows = conn.execute(
            select(accounts.c.purpose, transactions.c.created_at, postings.c.amount)
            .join(accounts, accounts.c.id == postings.c.account_id)
            .join(units, units.c.id == accounts.c.unit_id)
            .join(transactions, transactions.c.id == postings.c.transaction_id)
            .where(
                units.c.code == unit,
                transactions.c.kind.in_(("charge", "capture")),
                transactions.c.created_at >= since,
            )
        ).all()
    totals: dict[tuple[str, date], int] = {}
    for row in rows:
        day = row.created_at.astimezone(estate.zone).date()
        totals[(row.purpose, day)] = totals.get((row.purpose, day), 0) - row.amount
    return [
        m.UsageDayOut(wallet=purpose, day=day, charged=amount)
        for (purpose, day), amount in sorted(
            totals.items(), key=lambda kv: (kv[0][1], kv[0][0]), reverse=True
        )
    ]


@router.get("/transactions/{transaction_id}", responses=Responses)
def my_transaction(transaction_id: str, db: Db, principal: Resident) -> dict[str, Any]:
    """One transaction, as far as it touched this household's wallets."""
    with db.read() as conn:
        rows = conn.execute(
            select(
                transactions.c.id,
                transactions.c.kind,
                transactions.c.created_at,
                transactions.c.memo,
                accounts.c.code,
                postings.c.amount,
            )
            .join(postings, postings.c.transaction_id == transactions.c.id)
            .join(accounts, accounts.c.id == postings.c.account_id)
            .join(units, units.c.id == accounts.c.unit_id)
            .where(transactions.c.id == transaction_id, units.c.code == principal.unit)
        ).all()
    if not rows:
        raise nothing_here()
    first = rows[0]
    return {
        "transaction_id": first.id,
        "kind": first.kind,
        "created_at": first.created_at.isoformat(),
        "memo": first.memo,
        "postings": [{"wallet": r.code, "amount": r.amount} for r in rows],
    }
