"""Property fees and the maintenance fund over HTTP.

Staff set the policy and schedules, run billing, take payments at the desk and
run the fund; a kiosk (a signed terminal) lists a unit's open bills and takes a
payment of a whole bill or its next instalment, answering a receipt to print;
a resident pays from their wallet and reads the building fund's chained
statement under ``/v1/me``.
"""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sqlalchemy import select

from central.api.deps import Db, EstateDep, IdempotencyKey, context, require, write
from central.api.routes_ledger import Responses
from central.api.routes_me import nothing_here, own_unit
from central.auth.principal import Principal, Role
from central.db.schema import buildings, units
from central.db.types import utcnow
from central.errors import InvalidRequest, NotFound
from central.fees import arrears, billing, fund, payments

Code = Annotated[str, Field(min_length=1, max_length=32)]
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # integer keys, on both databases
Count = Annotated[int, Field(ge=0, le=10**6)]
Amount = Annotated[StrictInt, Field(description="integer minor units; > 0")]
DecimalText = Annotated[str, Field(min_length=1, max_length=24, description="a decimal, '2.80'")]

ReadRoles = require(Role.MANAGER, Role.CASHIER, Role.AUDITOR)
ManagerRoles = require(Role.MANAGER)
PolicyReadRoles = require(Role.MANAGER, Role.AUDITOR)
BillReadRoles = require(Role.MANAGER, Role.CASHIER, Role.AUDITOR, Role.TERMINAL)
PayRoles = require(Role.MANAGER, Role.CASHIER, Role.TERMINAL)
ResidentRoles = require(Role.RESIDENT)

# One router with the full paths: the roles check walks routers one level deep.
router = APIRouter(prefix="/v1")
FEES: list[str | Enum] = ["fees"]
FUND: list[str | Enum] = ["maintenance fund"]
ME: list[str | Enum] = ["residents"]

Manager = Annotated[Principal, Depends(ManagerRoles)]
Resident = Annotated[Principal, Depends(ResidentRoles)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolicyIn(Body):
    due_days: Annotated[int, Field(ge=0, le=366)] = 30
    remind_days_before: Annotated[int, Field(ge=0, le=366)] = 7
    remind_days_after: Annotated[int, Field(ge=0, le=366)] = 7
    late_fee_rate_per_month: DecimalText | None = None
    late_fee_cap: DecimalText | None = None
    late_fee_grace_days: Annotated[int, Field(ge=0, le=366)] = 0
    vote_area: Annotated[str, Field(max_length=16)] = "2/3"
    vote_headcount: Annotated[str, Field(max_length=16)] = "2/3"


class ScheduleIn(Body):
    unit_kind: Literal["flat", "shop", "parking"]
    per_m2_month: DecimalText
    effective_from: date


class RunIn(Body):
    period: Annotated[str, Field(max_length=16, description="2026, 2026-Q1 or 2026-07")]
    due_on: date | None = None


class InstalmentsIn(Body):
    count: Annotated[int, Field(ge=1, le=60)]
    every_months: Annotated[int, Field(ge=1, le=12)] = 1
    first_due: date | None = None


class PaymentIn(Body):
    what: Literal["whole", "next_instalment"] = "whole"
    method: Literal["wallet", "cash", "provider", "staff_desk"]
    source: Annotated[str, Field(max_length=48)] = ""
    expected: Amount | None = None
    unit: Code | None = None


class MyPaymentIn(Body):
    what: Literal["whole", "next_instalment"] = "whole"
    expected: Amount | None = None


class ContributionsIn(Body):
    per_m2: DecimalText
    reason: Literal["purchase", "periodic"]
    label: Annotated[str, Field(max_length=16)] = ""
    due_on: date
    units: list[Code] | None = None


class ProjectIn(Body):
    building: Code
    title: Annotated[str, Field(min_length=1, max_length=200)]
    supplier: Annotated[str, Field(min_length=1, max_length=200)]
    quote: Amount


class VoteIn(Body):
    yes_area_m2: DecimalText
    yes_owners: Count
    total_area_m2: DecimalText | None = None
    total_owners: Annotated[int, Field(ge=1, le=10**6)] | None = None


class InvoiceIn(Body):
    number: Annotated[str, Field(min_length=1, max_length=64)]
    amount: Amount


class InvoicePaymentIn(Body):
    method: Literal["provider", "staff_desk"] = "provider"
    destination: Annotated[str, Field(max_length=48)] = "bank"


# ---- fees: policy, schedules, billing runs, the daily job --------------------------------


@router.get("/fees/settings", tags=FEES, responses=Responses)
def get_policy(db: Db, _: Annotated[Principal, Depends(PolicyReadRoles)]) -> dict[str, Any]:
    """The estate's fee policy: due days, reminders, late fees (off unless set), vote rule."""
    with db.read() as conn:
        return billing.load_policy(conn).as_dict()


@router.put("/fees/settings", tags=FEES, status_code=200, responses=Responses)
def put_policy(
    body: PolicyIn, db: Db, principal: Manager, key: IdempotencyKey = None
) -> JSONResponse:
    """Replace the fee policy. A late fee needs both a monthly rate and a cap."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="fee_policy",
        request=body.model_dump(),
        apply=lambda conn: billing.save_policy(conn, body.model_dump(), utcnow()),
        status_code=200,
        subject="fees",
        before=lambda conn: billing.load_policy(conn).as_dict(),
    )


@router.get("/fees/schedules", tags=FEES, responses=Responses)
def list_schedules(db: Db, _: Annotated[Principal, Depends(ReadRoles)]) -> list[dict[str, Any]]:
    """Every fee schedule: a price per m2 per month by unit kind, from a date."""
    with db.read() as conn:
        return billing.schedules(conn)


@router.post("/fees/schedules", tags=FEES, status_code=201, responses=Responses)
def add_schedule(
    body: ScheduleIn, db: Db, principal: Manager, key: IdempotencyKey = None
) -> JSONResponse:
    """Set a unit kind's price per m2 per month from a date on."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="fee_schedule",
        request=body.model_dump(mode="json"),
        apply=lambda conn: billing.add_schedule(
            conn,
            unit_kind=body.unit_kind,
            per_m2_month=body.per_m2_month,
            effective_from=body.effective_from,
            actor=principal.actor,
            now=utcnow(),
        ),
        subject=f"schedule:{body.unit_kind}",
    )


@router.post("/fees/runs", tags=FEES, status_code=201, responses=Responses)
def billing_run(
    body: RunIn, db: Db, estate: EstateDep, principal: Manager, key: IdempotencyKey = None
) -> JSONResponse:
    """Bill every unit occupied in the period, prorated by the days it was occupied."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="fee_run",
        request=body.model_dump(mode="json"),
        apply=lambda conn: billing.run_billing(
            conn,
            period=body.period,
            due_on=body.due_on,
            actor=principal.actor,
            now=utcnow(),
            zone=estate.zone,
            currency=estate.currency,
        ),
        subject=f"fees:{body.period}",
    )


@router.post("/fees/daily", tags=FEES, status_code=200, responses=Responses)
def run_daily(
    db: Db, estate: EstateDep, principal: Manager, key: IdempotencyKey = None
) -> JSONResponse:
    """Add late fees, collect what is due from wallets, queue reminders (each once) into
    the notification outbox, whose worker sends them. Run it once a day (a cron job)."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="fee_daily",
        request={},
        apply=lambda conn: arrears.daily(conn, estate, utcnow()),
        status_code=200,
        subject="fees",
    )


# ---- bills: the kiosk's and the desk's view, instalments, payments -----------------------


@router.get("/fees/units/{unit}/bills", tags=FEES, responses=Responses)
def unit_bills(
    unit: str,
    db: Db,
    _: Annotated[Principal, Depends(BillReadRoles)],
    all_bills: bool = False,
) -> list[dict[str, Any]]:
    """A unit's open bills (all of them with ``all_bills=true``), soonest due first."""
    with db.read() as conn:
        return payments.unit_bills(conn, unit, open_only=not all_bills)


@router.get("/fees/bills/{bill_id}", tags=FEES, responses=Responses)
def get_bill(
    bill_id: RowId, db: Db, _: Annotated[Principal, Depends(BillReadRoles)]
) -> dict[str, Any]:
    """One bill with its instalments and what is still owed."""
    with db.read() as conn:
        return payments.bill_view(conn, bill_id)


@router.post("/fees/bills/{bill_id}/instalments", tags=FEES, status_code=201, responses=Responses)
def plan_instalments(
    bill_id: RowId,
    body: InstalmentsIn,
    db: Db,
    principal: Annotated[Principal, Depends(PayRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Split a bill into instalments that add up to it exactly (the rounding on the last)."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="fee_instalments",
        request={"bill_id": bill_id, **body.model_dump(mode="json")},
        apply=lambda conn: payments.plan_instalments(
            conn,
            bill_id=bill_id,
            count=body.count,
            every_months=body.every_months,
            first_due=body.first_due,
        ),
        subject=f"bill:{bill_id}",
    )


@router.post("/fees/bills/{bill_id}/payments", tags=FEES, status_code=201, responses=Responses)
def pay_bill(
    bill_id: RowId,
    body: PaymentIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(PayRoles)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Pay a bill whole or its next instalment; the answer carries the receipt.

    A kiosk names the unit whose card or code it read (``unit``) and pays in cash
    into its own cash box or through a provider; the desk pays at the staff desk."""
    if principal.kind == "terminal" and body.unit is None:
        raise InvalidRequest("a terminal names the unit it is serving", code="unit_missing")
    if principal.kind == "terminal" and body.method == "staff_desk":
        raise InvalidRequest("a kiosk takes cash, a provider or the wallet", code="invalid_method")
    return write(
        db,
        principal=principal,
        key=key,
        operation="fee_payment",
        request={"bill_id": bill_id, **body.model_dump()},
        apply=lambda conn: payments.pay_bill(
            conn,
            context(estate, principal, key or ""),
            bill_id=bill_id,
            what=body.what,
            method=body.method,
            source=body.source,
            expected=body.expected,
            unit=body.unit,
        ),
        subject=f"bill:{bill_id}",
    )


class ReversalIn(Body):
    reason: Annotated[str, Field(min_length=1, max_length=400)]


@router.post(
    "/fees/payments/{transaction_id}/reversal", tags=FEES, status_code=201, responses=Responses
)
def reverse_payment(
    transaction_id: Annotated[str, Path(max_length=32)],
    body: ReversalIn,
    db: Db,
    estate: EstateDep,
    principal: Manager,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Undo a bill payment (a mistake at the desk): the ledger posts its mirror image and
    the bill owes the money again. Reverse fee payments here, not through the ledger's
    reversal, so the bill follows."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="fee_payment_reversal",
        request={"transaction_id": transaction_id, **body.model_dump()},
        apply=lambda conn: payments.reverse_payment(
            conn,
            context(estate, principal, key or ""),
            transaction_id=transaction_id,
            reason=body.reason,
        ),
        subject=f"transaction:{transaction_id}",
    )


# ---- the maintenance fund ----------------------------------------------------------------


@router.post(
    "/fund/buildings/{building}/contributions", tags=FUND, status_code=201, responses=Responses
)
def levy(
    building: str,
    body: ContributionsIn,
    db: Db,
    estate: EstateDep,
    principal: Manager,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Levy a contribution per m2 on the building's units (at purchase, or periodically)."""
    if body.reason == "periodic" and not body.label:
        raise InvalidRequest(
            "a periodic contribution needs a label, e.g. 2026", code="label_missing"
        )
    return write(
        db,
        principal=principal,
        key=key,
        operation="fund_levy",
        request={"building": building, **body.model_dump(mode="json")},
        apply=lambda conn: fund.levy_contributions(
            conn,
            building=building,
            per_m2=body.per_m2,
            reason=body.reason,
            label=body.label,
            due_on=body.due_on,
            now=utcnow(),
            currency=estate.currency,
            units_only=body.units,
        ),
        subject=f"fund:{building}",
    )


@router.post("/fund/projects", tags=FUND, status_code=201, responses=Responses)
def propose(
    body: ProjectIn, db: Db, estate: EstateDep, principal: Manager, key: IdempotencyKey = None
) -> JSONResponse:
    """Propose a repair project with its quote; it needs the owners' vote to spend."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="fund_project",
        request=body.model_dump(),
        apply=lambda conn: fund.propose_project(
            conn,
            building=body.building,
            title=body.title,
            supplier=body.supplier,
            quote=body.quote,
            currency=estate.currency,
            ctx=context(estate, principal, key or ""),
        ),
        subject=f"fund:{body.building}",
    )


@router.get("/fund/projects/{project_id}", tags=FUND, responses=Responses)
def get_project(
    project_id: RowId, db: Db, _: Annotated[Principal, Depends(PolicyReadRoles)]
) -> dict[str, Any]:
    """A project: its quote, the vote and its verdict, what was paid."""
    with db.read() as conn:
        return fund.project_view(conn, project_id)


@router.post("/fund/projects/{project_id}/vote", tags=FUND, status_code=201, responses=Responses)
def vote(
    project_id: RowId, body: VoteIn, db: Db, principal: Manager, key: IdempotencyKey = None
) -> JSONResponse:
    """Record the owners' vote; the project is approved only if both thresholds are met.
    Totals default to the building's floor area and its resident owners."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="fund_vote",
        request={"project_id": project_id, **body.model_dump()},
        apply=lambda conn: fund.record_vote(
            conn,
            project_id=project_id,
            yes_area_m2=body.yes_area_m2,
            yes_owners=body.yes_owners,
            total_area_m2=body.total_area_m2,
            total_owners=body.total_owners,
            now=utcnow(),
        ),
        subject=f"project:{project_id}",
    )


@router.post(
    "/fund/projects/{project_id}/invoices", tags=FUND, status_code=201, responses=Responses
)
def add_invoice(
    project_id: RowId,
    body: InvoiceIn,
    db: Db,
    estate: EstateDep,
    principal: Manager,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Record a supplier's invoice against a project."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="fund_invoice",
        request={"project_id": project_id, **body.model_dump()},
        apply=lambda conn: fund.add_invoice(
            conn,
            project_id=project_id,
            number=body.number,
            amount=body.amount,
            ctx=context(estate, principal, key or ""),
        ),
        subject=f"project:{project_id}",
    )


@router.post(
    "/fund/invoices/{invoice_id}/payments", tags=FUND, status_code=201, responses=Responses
)
def pay_invoice(
    invoice_id: RowId,
    body: InvoicePaymentIn,
    db: Db,
    estate: EstateDep,
    principal: Manager,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Pay an invoice from the building's fund: approved projects only, up to the quote."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="fund_payment",
        request={"invoice_id": invoice_id, **body.model_dump()},
        apply=lambda conn: fund.pay_invoice(
            conn,
            context(estate, principal, key or ""),
            invoice_id=invoice_id,
            method=body.method,
            destination=body.destination,
        ),
        subject=f"invoice:{invoice_id}",
    )


@router.get("/fund/buildings/{building}/statement", tags=FUND, responses=Responses)
def fund_statement(
    building: str, db: Db, estate: EstateDep, _: Annotated[Principal, Depends(PolicyReadRoles)]
) -> dict[str, Any]:
    """The building fund's statement: contributions, spending, balance and the hash chain."""
    with db.read() as conn:
        return fund.statement(conn, building=building, currency=estate.currency, now=utcnow())


# ---- a resident's own bills and their building's fund ------------------------------------


@router.get("/me/units/{unit}/bills", tags=ME, responses=Responses)
def my_bills(unit: str, db: Db, principal: Resident) -> list[dict[str, Any]]:
    """The household's open bills."""
    own_unit(principal, unit)
    with db.read() as conn:
        return payments.unit_bills(conn, unit)


@router.post(
    "/me/units/{unit}/bills/{bill_id}/instalments", tags=ME, status_code=201, responses=Responses
)
def my_instalments(
    unit: str,
    bill_id: RowId,
    body: InstalmentsIn,
    db: Db,
    principal: Resident,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Choose to pay one of the household's bills by instalments."""
    own_unit(principal, unit)

    def apply(conn: Any) -> dict[str, Any]:
        _bill_of(conn, unit, bill_id)
        return payments.plan_instalments(
            conn,
            bill_id=bill_id,
            count=body.count,
            every_months=body.every_months,
            first_due=body.first_due,
        )

    return write(
        db,
        principal=principal,
        key=key,
        operation="fee_instalments",
        request={"unit": unit, "bill_id": bill_id, **body.model_dump(mode="json")},
        apply=apply,
    )


@router.post(
    "/me/units/{unit}/bills/{bill_id}/payments", tags=ME, status_code=201, responses=Responses
)
def my_payment(
    unit: str,
    bill_id: RowId,
    body: MyPaymentIn,
    db: Db,
    estate: EstateDep,
    principal: Resident,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Pay one of the household's bills (or its next instalment) from its wallet."""
    own_unit(principal, unit)

    def apply(conn: Any) -> dict[str, Any]:
        _bill_of(conn, unit, bill_id)
        return payments.pay_bill(
            conn,
            context(estate, principal, key or ""),
            bill_id=bill_id,
            what=body.what,
            method=payments.WALLET,
            expected=body.expected,
            unit=unit,
        )

    return write(
        db,
        principal=principal,
        key=key,
        operation="fee_payment",
        request={"unit": unit, "bill_id": bill_id, **body.model_dump()},
        apply=apply,
    )


@router.get("/me/units/{unit}/fund/statement", tags=ME, responses=Responses)
def my_fund_statement(unit: str, db: Db, estate: EstateDep, principal: Resident) -> dict[str, Any]:
    """The maintenance fund statement of the household's building, as a hash chain any
    owner can check with ``prepaid central fund verify``."""
    own_unit(principal, unit)
    with db.read() as conn:
        row = conn.execute(
            select(buildings.c.code)
            .join(units, units.c.building_id == buildings.c.id)
            .where(units.c.code == unit)
        ).first()
        if row is None:
            raise nothing_here()
        return fund.statement(conn, building=row.code, currency=estate.currency, now=utcnow())


def _bill_of(conn: Any, unit: str, bill_id: int) -> None:
    """Another household's bill answers as if it did not exist."""
    try:
        view = payments.bill_view(conn, bill_id)
    except NotFound:
        raise nothing_here() from None
    if view["unit"] != unit:
        raise nothing_here()
