"""Planning a simple money movement: check the request, find the accounts, build
balanced legs. No writes happen here, so the same plan serves a single API call
(posted at once) and a terminal's batch (checked in memory, written in bulk).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection

from central.db.types import utcnow
from central.errors import Forbidden, InvalidRequest, Refused
from central.estate.settings import Estate
from central.ledger import accounts as acc
from central.ledger.posting import Leg
from domain.money import MoneyError, check_amount
from domain.wallets import (
    STAFF_DESK_CODE,
    PaymentMethod,
    Purpose,
    cash_box_code,
    clearing_code,
    revenue_code,
)

SOURCE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,47}$")


@dataclass(frozen=True, slots=True)
class Context:
    """Who is asking, when, and under which key."""

    estate: Estate
    idempotency_key: str
    actor: str  # "staff:alice", "terminal:kiosk-01", "system:billing"
    terminal_id: str | None = None
    now: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class Plan:
    kind: str
    legs: list[Leg]
    method: str | None = None
    memo: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # echoed in the answer


class Resolver(Protocol):
    """Finds accounts: straight from the database, or from a batch's prefetched cache."""

    def wallet(self, unit: str, purpose: str) -> acc.Account: ...

    def system(self, code: str, kind: str) -> acc.Account: ...


class DbResolver:
    def __init__(self, conn: Connection, currency: str) -> None:
        self.conn = conn
        self.currency = currency

    def wallet(self, unit: str, purpose: str) -> acc.Account:
        return acc.wallet(self.conn, unit, purpose)

    def system(self, code: str, kind: str) -> acc.Account:
        return acc.system_account(self.conn, code, kind=kind, currency=self.currency)


def checked_amount(ctx: Context, amount: int, currency: str) -> int:
    if currency != ctx.estate.currency:
        raise InvalidRequest(
            f"this estate keeps its books in {ctx.estate.currency}, not {currency}",
            code="currency_mismatch",
        )
    try:
        check_amount(amount)
    except MoneyError as err:
        code = "amount_too_large" if amount > 0 else "invalid_amount"
        raise InvalidRequest(str(err), code=code) from err
    return amount


def service_name(service: str) -> str:
    if not SOURCE.match(service):
        raise InvalidRequest("service names are lower-case words", code="invalid_service")
    return service


def money_source(ctx: Context, resolve: Resolver, method: str, source: str) -> acc.Account:
    """The system account money comes from (a top-up) or goes back to (a refund)."""
    try:
        method = PaymentMethod(method)
    except ValueError:
        raise InvalidRequest(
            f"payment method must be one of {', '.join(m.value for m in PaymentMethod)}",
            code="invalid_method",
        ) from None
    if method is PaymentMethod.STAFF_DESK:
        return resolve.system(STAFF_DESK_CODE, "cash_desk")
    if not SOURCE.match(source):
        raise InvalidRequest(
            "the source names a kiosk or a payment provider: lower-case letters, digits, '.-_'",
            code="invalid_source",
        )
    if method is PaymentMethod.CASH:
        if ctx.terminal_id is not None and source != ctx.terminal_id:
            # A terminal acting for another terminal: refused like any other impersonation.
            raise Forbidden(
                "a terminal can only take cash into its own cash box", code="other_terminal"
            )
        return resolve.system(cash_box_code(source), "cash_box")
    return resolve.system(clearing_code(source), "clearing")


def refuse_fund_outflow(wallet: acc.Account) -> None:
    if wallet.purpose == Purpose.MAINTENANCE_FUND.value:
        raise Refused(
            "money paid into the maintenance fund never moves out at a resident's request",
            code="fund_transfer_forbidden",
        )


def plan_top_up(
    resolve: Resolver,
    ctx: Context,
    *,
    unit: str,
    purpose: str,
    amount: int,
    currency: str,
    method: str,
    source: str = "",
    memo: str = "",
) -> Plan:
    amount = checked_amount(ctx, amount, currency)
    wallet = resolve.wallet(unit, purpose)
    origin = money_source(ctx, resolve, method, source)
    return Plan(
        "top_up",
        [Leg(origin, -amount), Leg(wallet, amount)],
        method=method,
        memo=memo,
        extra={"wallet": wallet.code, "amount": amount},
    )


def plan_charge(
    resolve: Resolver,
    ctx: Context,
    *,
    unit: str,
    purpose: str,
    amount: int,
    currency: str,
    service: str | None = None,
    memo: str = "",
) -> Plan:
    amount = checked_amount(ctx, amount, currency)
    wallet = resolve.wallet(unit, purpose)
    revenue = resolve.system(revenue_code(service_name(service or wallet.purpose or "")), "revenue")
    return Plan(
        "charge",
        [Leg(wallet, -amount), Leg(revenue, amount)],
        memo=memo,
        extra={"wallet": wallet.code, "amount": amount},
    )


def plan_transfer(
    resolve: Resolver,
    ctx: Context,
    *,
    unit: str,
    from_purpose: str,
    to_purpose: str,
    amount: int,
    currency: str,
    memo: str = "",
) -> Plan:
    amount = checked_amount(ctx, amount, currency)
    source = resolve.wallet(unit, from_purpose)
    target = resolve.wallet(unit, to_purpose)
    if source.id == target.id:
        raise InvalidRequest("a transfer needs two different wallets", code="same_wallet")
    refuse_fund_outflow(source)
    return Plan(
        "transfer",
        [Leg(source, -amount), Leg(target, amount)],
        memo=memo,
        extra={"amount": amount},
    )


def plan_refund(
    resolve: Resolver,
    ctx: Context,
    *,
    unit: str,
    purpose: str,
    amount: int,
    currency: str,
    method: str,
    destination: str = "",
    memo: str = "",
) -> Plan:
    """Pay money back out of a wallet, the way it came in (the desk or the provider)."""
    amount = checked_amount(ctx, amount, currency)
    if method == PaymentMethod.CASH.value:
        raise InvalidRequest(
            "a kiosk gives no cash back: refund at the staff desk or to the provider",
            code="invalid_method",
        )
    wallet = resolve.wallet(unit, purpose)
    refuse_fund_outflow(wallet)
    target = money_source(ctx, resolve, method, destination)
    return Plan(
        "refund",
        [Leg(wallet, -amount), Leg(target, amount)],
        method=method,
        memo=memo,
        extra={"wallet": wallet.code, "amount": amount},
    )
