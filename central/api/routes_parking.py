"""Parking endpoints: tariffs, rules, passes, renewals, and the gates' entries and exits.

An entry or exit answers ``200`` with ``allowed`` true or false: a refusal (a
fuzzy read at the entry, a wallet that cannot pay, a visitor who has not paid)
is a business answer the gate shows and journals, not an error. Every write
takes an ``Idempotency-Key``: a gate retrying after a lost answer, or uploading
its offline journal, gets the same decision and is charged once.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field, StrictInt

from central.api.deps import Db, EstateDep, IdempotencyKey, context, require, write
from central.auth.principal import Principal, Role
from central.db.types import utcnow
from central.parking import (
    dues,
    passes,
    renewal,
    review_cases,
    rules,
    service,
    sessions,
    snapshot,
    tariffs,
)

router = APIRouter(prefix="/v1/parking", tags=["parking"])

ManagerRoles = require(Role.MANAGER)
ReadRoles = require(Role.MANAGER, Role.CASHIER, Role.AUDITOR, Role.TECHNICIAN, Role.TERMINAL)
SellRoles = require(Role.MANAGER, Role.CASHIER)
GateRoles = require(Role.MANAGER, Role.TERMINAL)
PayRoles = require(Role.MANAGER, Role.CASHIER, Role.TERMINAL)

MAX_AMOUNT = 10**10  # minor units: far above any stay, inside a 64-bit column
Rate = Annotated[
    str, Field(max_length=20, pattern=r"^\d{1,9}(\.\d{1,4})?$", description="major units")
]
Plate = Annotated[str, Field(min_length=2, max_length=20, pattern=r"^[\w\s\-·.]+$")]
Lane = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]
Clock = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Amount = Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT)]


class TariffIn(BaseModel):
    kind: Literal["resident", "visitor"]
    version: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]
    block_minutes: Literal[15, 30, 60] = 60
    day_rate: Rate
    free_minutes: Annotated[StrictInt, Field(ge=0, le=24 * 60)] = 0
    night_rate: Rate | None = None
    night_start: Clock = "22:00"
    night_end: Clock = "07:00"
    daily_cap: Rate | None = None
    grace_minutes: Annotated[StrictInt, Field(ge=0, le=240)] = 15
    effective_from: AwareDatetime | None = Field(
        default=None, description="when it takes effect; now if left out"
    )


class RuleIn(BaseModel):
    action: Literal["charge_maximum", "charge_tariff", "review", "cancel"]
    maximum: Amount = 0


class RulesIn(BaseModel):
    rules: dict[
        Literal["exit_without_entry", "already_inside", "pass_expired_mid_stay", "reversed_out"],
        RuleIn,
    ] = Field(default_factory=dict)
    renew_days_before: Annotated[StrictInt, Field(ge=0, le=60)] | None = None
    remind_days_before: Annotated[StrictInt, Field(ge=0, le=90)] | None = None


class PassIn(BaseModel):
    unit: Annotated[str, Field(min_length=1, max_length=32)]
    period: Literal["monthly", "quarterly", "annual"]
    price: Amount
    plate: Plate | None = Field(default=None, description="none: any plate of the unit")
    start: date | None = None
    auto_renew: bool = True


class EntryIn(BaseModel):
    plate: Plate
    lane: Lane | None = None
    at: AwareDatetime | None = Field(default=None, description="the gate's time of the entry")
    match: Literal["exact", "fuzzy"] = "exact"


class ExitIn(BaseModel):
    plate: Plate
    lane: Lane | None = None
    at: AwareDatetime | None = Field(default=None, description="the gate's time of the exit")
    match: Literal["exact", "fuzzy"] = "exact"
    tariff_version: Annotated[str, Field(min_length=1, max_length=32)] | None = Field(
        default=None, description="the gate's decision record: the tariff it priced with"
    )
    amount: Amount | None = Field(default=None, description="what the gate charged")
    paid_by: Literal["wallet", "qr", "guard", "ticket", "pass"] | None = None
    provider: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,47}$")] = "sandbox"


class ReversalIn(BaseModel):
    plate: Plate
    direction: Literal["entry", "exit"]
    lane: Lane | None = None
    at: AwareDatetime | None = None


class PrepaymentIn(BaseModel):
    plate: Plate
    amount: Amount
    tariff_version: Annotated[str, Field(min_length=1, max_length=32)]
    provider: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,47}$")] = "sandbox"


class RenewalIn(BaseModel):
    at: AwareDatetime | None = None


@router.post("/tariffs", status_code=201)
def add_tariff(
    body: TariffIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(ManagerRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """A new tariff version (resident or visitor); older versions stay for the gates' records."""
    request = body.model_dump(mode="json")
    spec = body.model_dump(exclude={"kind", "effective_from"})

    def apply(conn: Any) -> dict[str, Any]:
        now = utcnow()
        return tariffs.add_tariff(
            conn,
            kind=body.kind,
            spec=spec,
            effective_from=body.effective_from or now,
            now=now,
            currency=estate.currency,
        )

    return write(
        db,
        principal=principal,
        key=key,
        operation="parking.tariff",
        request=request,
        subject=body.version,
        apply=apply,
    )


@router.get("/tariffs")
def list_tariffs(
    db: Db, principal: Annotated[Principal, Depends(ReadRoles)]
) -> list[dict[str, Any]]:
    with db.read() as conn:
        return tariffs.list_tariffs(conn)


@router.get("/rules")
def get_rules(db: Db, principal: Annotated[Principal, Depends(ReadRoles)]) -> dict[str, Any]:
    with db.read() as conn:
        return rules.describe_rules(conn)


@router.put("/rules")
def set_rules(
    body: RulesIn,
    db: Db,
    principal: Annotated[Principal, Depends(ManagerRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """What happens on an exit with no entry, a car already inside, a pass ending mid-stay,
    a car reversing out; and how many days before its end a pass renews and is reminded."""
    request = body.model_dump(mode="json")
    return write(
        db,
        principal=principal,
        key=key,
        operation="parking.rules",
        request=request,
        subject="parking",
        status_code=200,
        before=rules.describe_rules,
        apply=lambda conn: rules.set_rules(
            conn,
            rules_in=request["rules"],
            renew_days_before=body.renew_days_before,
            remind_days_before=body.remind_days_before,
            now=utcnow(),
        ),
    )


@router.post("/passes", status_code=201)
def buy_pass(
    body: PassIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(SellRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """A pass for a plate or a unit; its first period comes out of the parking wallet."""
    request = body.model_dump(mode="json")

    def apply(conn: Any) -> dict[str, Any]:
        ctx = context(estate, principal, key or "")
        return passes.buy_pass(conn, ctx, **body.model_dump())

    return write(
        db, principal=principal, key=key, operation="parking.pass", request=request, apply=apply
    )


@router.get("/passes")
def list_passes(
    db: Db,
    principal: Annotated[Principal, Depends(ReadRoles)],
    unit: Annotated[str | None, Query(max_length=32)] = None,
) -> list[dict[str, Any]]:
    with db.read() as conn:
        return passes.list_passes(conn, unit)


@router.post("/renewals")
def run_renewals(
    body: RenewalIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(ManagerRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Run the renewal job now (it also runs on a schedule): reminders, renewals, failures."""
    request = body.model_dump(mode="json")
    return write(
        db,
        principal=principal,
        key=key,
        operation="parking.renewals",
        request=request,
        subject="parking",
        status_code=200,
        apply=lambda conn: renewal.run_renewals_in(conn, estate, now=body.at or utcnow()).as_dict(),
    )


@router.post("/entries")
def enter(
    body: EntryIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(GateRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """A car at an entry lane: a session opens for a pass, a resident or a visitor.
    A fuzzy read never opens (``allowed: false``, ``not_exact``)."""
    request = body.model_dump(mode="json")

    def apply(conn: Any) -> dict[str, Any]:
        ctx = context(estate, principal, key or "")
        return service.enter(conn, ctx, **body.model_dump())

    return write(
        db,
        principal=principal,
        key=key,
        operation="parking.entry",
        request=request,
        status_code=200,
        apply=apply,
    )


@router.post("/exits")
def leave(
    body: ExitIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(GateRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """A car at an exit lane. With the gate's decision record (``tariff_version``,
    ``amount``, ``paid_by``) its price is honoured, even if the tariff changed since."""
    request = body.model_dump(mode="json")

    def apply(conn: Any) -> dict[str, Any]:
        ctx = context(estate, principal, key or "")
        return service.leave(conn, ctx, **body.model_dump())

    return write(
        db,
        principal=principal,
        key=key,
        operation="parking.exit",
        request=request,
        status_code=200,
        apply=apply,
    )


@router.post("/reversals")
def reversed_out(
    body: ReversalIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(GateRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """The arm went up and the car backed out: the manager's ``reversed_out`` rule cancels
    the entry's session or raises it for review."""
    request = body.model_dump(mode="json")

    def apply(conn: Any) -> dict[str, Any]:
        ctx = context(estate, principal, key or "")
        return service.reversed_out(conn, ctx, **body.model_dump())

    return write(
        db,
        principal=principal,
        key=key,
        operation="parking.reversal",
        request=request,
        status_code=200,
        apply=apply,
    )


@router.post("/prepayments")
def prepay(
    body: PrepaymentIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(PayRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """A visitor pays in advance what ``GET /quote`` said (the provider took the money):
    the grace period runs from now, and leaving within it costs nothing more."""
    request = body.model_dump(mode="json")

    def apply(conn: Any) -> dict[str, Any]:
        ctx = context(estate, principal, key or "")
        return dues.prepay(conn, ctx, **body.model_dump())

    return write(
        db,
        principal=principal,
        key=key,
        operation="parking.prepayment",
        request=request,
        status_code=201,
        apply=apply,
    )


@router.get("/quote")
def quote(
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(GateRoles)],
    plate: Annotated[str, Query(min_length=2, max_length=20, pattern=r"^[\w\s\-·.]+$")],
) -> dict[str, Any]:
    """What the car inside with this plate owes now (a visitor paying in advance)."""
    with db.read() as conn:
        return dues.quote(conn, context(estate, principal, ""), plate=plate)


@router.get("/snapshot")
def gate_snapshot(
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(GateRoles)],
    terminal: Annotated[
        str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    ] = None,
) -> dict[str, Any]:
    """What a gate decides from offline: plates as keyed hashes, passes, parking wallets,
    the tariffs in force with their versions, the rules. A terminal gets its own; a
    manager names the terminal."""
    terminal_id = principal.id if principal.kind == "terminal" else terminal or "gate"
    with db.write() as conn:  # the terminal's hash key is made on first use
        return snapshot.snapshot(conn, terminal_id=terminal_id, estate=estate, now=utcnow())


@router.get("/inside")
def inside(db: Db, principal: Annotated[Principal, Depends(ReadRoles)]) -> list[dict[str, Any]]:
    """The cars inside now: a gate's list for matching a misread plate at the exit."""
    with db.read() as conn:
        return sessions.cars_inside(conn)


@router.get("/reviews")
def reviews(db: Db, principal: Annotated[Principal, Depends(ReadRoles)]) -> list[dict[str, Any]]:
    """Open cases a rule sent to a manager."""
    with db.read() as conn:
        return review_cases.open_reviews(conn)
