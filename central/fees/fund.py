"""The special maintenance fund: one ledger account per building, and its hash chain.

Money comes in as contributions (bills levied per m2, at purchase or
periodically, recorded per unit when paid) and goes out only to pay an invoice
of a project the owners approved by vote. Every movement appends one entry to
the building's chain in the same transaction as its posting.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from central.db.schema import accounts, buildings, residents, units
from central.errors import InvalidRequest, NotFound, Refused
from central.fees.billing import FUND_CONTRIBUTION, decimal, load_policy
from central.fees.tables import bills, fund_entries, fund_invoices, fund_projects
from central.ledger import accounts as acc
from central.ledger.plans import Context, DbResolver, checked_amount, money_source
from central.ledger.posting import Leg, post
from domain import fund_chain
from domain.fees import VoteResult, judge_vote
from domain.money import MAX_AMOUNT, to_minor
from domain.wallets import MAINTENANCE_FUND_CODE

CONTRIBUTION_REASONS = ("purchase", "periodic")


def fund_code(building: str) -> str:
    return f"{MAINTENANCE_FUND_CODE}:{building}"


def fund_account(conn: Connection, building: str, currency: str) -> acc.Account:
    """The building's fund account, opened on first use with a floor of zero:
    the fund can never pay out money it does not hold."""
    code = fund_code(building)
    found = acc.by_code(conn, code)
    if found is None:
        conn.execute(
            insert(accounts).values(
                code=code, kind="fund", currency=currency, floor=0, created_at=datetime.now(UTC)
            )
        )
        found = acc.by_code(conn, code)
        assert found is not None
    return found


def building_id(conn: Connection, building: str) -> int:
    row = conn.execute(select(buildings.c.id).where(buildings.c.code == building)).first()
    if row is None:
        raise NotFound(f"there is no building {building!r}", code="unknown_building")
    return int(row.id)


def record_entry(
    conn: Connection,
    *,
    building: int,
    at: datetime,
    kind: str,
    amount: int,
    transaction_id: str,
    reference: str,
    unit: str | None = None,
    project_id: int | None = None,
) -> dict[str, Any]:
    """Append one entry to the building's chain (the fund account's row lock, taken
    by the posting just before, keeps two writers from forking it)."""
    last = conn.execute(
        select(fund_entries.c.seq, fund_entries.c.hash)
        .where(fund_entries.c.building_id == building)
        .order_by(fund_entries.c.seq.desc())
        .limit(1)
    ).first()
    seq, prev = (1, fund_chain.GENESIS) if last is None else (last.seq + 1, last.hash)
    entry = fund_chain.link(
        prev,
        {
            "seq": seq,
            "at": at.astimezone(UTC).isoformat(timespec="seconds"),
            "kind": kind,
            "unit": unit,
            "project": project_id,
            "reference": reference,
            "amount": amount,
            "transaction_id": transaction_id,
        },
    )
    conn.execute(
        insert(fund_entries).values(
            building_id=building,
            seq=seq,
            at=entry["at"],
            kind=kind,
            unit=unit,
            project_id=project_id,
            reference=reference,
            amount=amount,
            transaction_id=transaction_id,
            prev_hash=prev,
            hash=entry["hash"],
        )
    )
    return entry


def levy_contributions(
    conn: Connection,
    *,
    building: str,
    per_m2: str,
    reason: str,
    label: str,
    due_on: date,
    now: datetime,
    currency: str,
    units_only: list[str] | None = None,
) -> dict[str, Any]:
    """A contribution bill per unit of the building: its floor area times ``per_m2``.

    ``label`` names the levy (``purchase`` for the one at purchase, ``2026`` for a
    yearly one): a unit is levied once per label.
    """
    if reason not in CONTRIBUTION_REASONS:
        raise InvalidRequest(f"a contribution is made at {' or '.join(CONTRIBUTION_REASONS)}")
    price = decimal(per_m2, "the contribution per m2")
    period = "purchase" if reason == "purchase" else f"fund:{label}"
    bid = building_id(conn, building)
    query = select(units.c.id, units.c.code, units.c.area_m2).where(units.c.building_id == bid)
    if units_only:
        query = query.where(units.c.code.in_(units_only))
    rows = conn.execute(query.order_by(units.c.code)).all()
    if units_only and len(rows) != len(set(units_only)):
        raise NotFound("some of those units are not in this building", code="unknown_unit")
    billed = {
        r.unit_id
        for r in conn.execute(
            select(bills.c.unit_id).where(
                bills.c.kind == FUND_CONTRIBUTION, bills.c.period == period
            )
        )
    }
    made: list[dict[str, Any]] = []
    for row in rows:
        amount = to_minor(price * Decimal(row.area_m2), currency)
        if row.id in billed or amount <= 0:
            continue
        if amount > MAX_AMOUNT:
            raise InvalidRequest(f"a contribution of {amount} exceeds the per-payment limit")
        bill_id = conn.execute(
            insert(bills)
            .values(
                unit_id=row.id,
                kind=FUND_CONTRIBUTION,
                period=period,
                amount=amount,
                due_on=due_on,
                issued_at=now,
                memo=f"maintenance fund contribution ({reason} {label})".strip(),
            )
            .returning(bills.c.id)
        ).scalar_one()
        made.append({"bill_id": bill_id, "unit": row.code, "amount": amount})
    return {
        "building": building,
        "period": period,
        "bills": made,
        "total": sum(int(b["amount"]) for b in made),
    }


def _project(conn: Connection, project_id: int) -> Any:
    row = conn.execute(
        select(fund_projects, buildings.c.code.label("building"))
        .join(buildings, buildings.c.id == fund_projects.c.building_id)
        .where(fund_projects.c.id == project_id)
    ).first()
    if row is None:
        raise NotFound(f"there is no fund project {project_id}", code="unknown_project")
    return row


def project_view(conn: Connection, project_id: int) -> dict[str, Any]:
    row = _project(conn, project_id)
    invoiced = conn.execute(
        select(func.coalesce(func.sum(fund_invoices.c.amount), 0)).where(
            fund_invoices.c.project_id == project_id, fund_invoices.c.status == "paid"
        )
    ).scalar_one()
    return {
        "project_id": row.id,
        "building": row.building,
        "title": row.title,
        "supplier": row.supplier,
        "quote": row.quote,
        "status": row.status,
        "vote": None
        if row.decided_at is None
        else {
            "yes_area_m2": row.yes_area_m2,
            "total_area_m2": row.total_area_m2,
            "yes_owners": row.yes_owners,
            "total_owners": row.total_owners,
            "rule_area": row.rule_area,
            "rule_headcount": row.rule_headcount,
            "verdict": row.verdict,
        },
        "paid": int(invoiced),
    }


def propose_project(
    conn: Connection,
    *,
    building: str,
    title: str,
    supplier: str,
    quote: int,
    currency: str,
    ctx: Context,
) -> dict[str, Any]:
    quote = checked_amount(ctx, quote, currency)
    if not title.strip() or not supplier.strip():
        raise InvalidRequest("a project needs a title and the quoting supplier")
    project_id = conn.execute(
        insert(fund_projects)
        .values(
            building_id=building_id(conn, building),
            title=title.strip(),
            supplier=supplier.strip(),
            quote=quote,
            created_at=ctx.now,
            created_by=ctx.actor,
        )
        .returning(fund_projects.c.id)
    ).scalar_one()
    return project_view(conn, project_id)


def building_electorate(conn: Connection, building: int) -> tuple[Decimal, int]:
    """The building's floor area and its owners (units with an owner living there)."""
    area = conn.execute(
        select(func.coalesce(func.sum(units.c.area_m2), 0)).where(units.c.building_id == building)
    ).scalar_one()
    owners = conn.execute(
        select(func.count(func.distinct(residents.c.id)))
        .join(units, units.c.id == residents.c.unit_id)
        .where(
            units.c.building_id == building,
            residents.c.role == "owner",
            residents.c.moved_out_at.is_(None),
        )
    ).scalar_one()
    return Decimal(area), int(owners)


def record_vote(
    conn: Connection,
    *,
    project_id: int,
    yes_area_m2: str,
    yes_owners: int,
    total_area_m2: str | None,
    total_owners: int | None,
    now: datetime,
) -> dict[str, Any]:
    """Record the owners' vote and decide: approved only if both thresholds are met."""
    row = _project(conn, project_id)
    if row.status != "proposed":
        raise Refused(f"project {project_id} was already {row.status}", code="vote_recorded")
    area, owners = building_electorate(conn, row.building_id)
    result = VoteResult(
        yes_area_m2=decimal(yes_area_m2, "the yes floor area"),
        total_area_m2=area if total_area_m2 is None else decimal(total_area_m2, "the floor area"),
        yes_owners=yes_owners,
        total_owners=owners if total_owners is None else total_owners,
    )
    rule = load_policy(conn).vote
    verdict = judge_vote(result, rule)
    conn.execute(
        update(fund_projects)
        .where(fund_projects.c.id == project_id)
        .values(
            status="approved" if verdict.passed else "rejected",
            yes_area_m2=str(result.yes_area_m2),
            total_area_m2=str(result.total_area_m2),
            yes_owners=result.yes_owners,
            total_owners=result.total_owners,
            rule_area=str(rule.area),
            rule_headcount=str(rule.headcount),
            verdict="passed" if verdict.passed else "; ".join(verdict.reasons),
            decided_at=now,
        )
    )
    return project_view(conn, project_id)


def add_invoice(
    conn: Connection, *, project_id: int, number: str, amount: int, ctx: Context
) -> dict[str, Any]:
    _project(conn, project_id)
    amount = checked_amount(ctx, amount, ctx.estate.currency)
    if not number.strip():
        raise InvalidRequest("an invoice needs its number")
    if conn.execute(
        select(fund_invoices.c.id).where(
            fund_invoices.c.project_id == project_id, fund_invoices.c.number == number.strip()
        )
    ).first():
        raise Refused(f"invoice {number} is already on record", code="invoice_exists")
    invoice_id = conn.execute(
        insert(fund_invoices)
        .values(project_id=project_id, number=number.strip(), amount=amount, created_at=ctx.now)
        .returning(fund_invoices.c.id)
    ).scalar_one()
    return {"invoice_id": invoice_id, "project_id": project_id, "number": number, "amount": amount}


def pay_invoice(
    conn: Connection, ctx: Context, *, invoice_id: int, method: str, destination: str
) -> dict[str, Any]:
    """Pay a project's invoice out of the building's fund: only for an approved
    project, only up to its quote, only from money the fund holds."""
    invoice = conn.execute(select(fund_invoices).where(fund_invoices.c.id == invoice_id)).first()
    if invoice is None:
        raise NotFound(f"there is no invoice {invoice_id}", code="unknown_invoice")
    if invoice.status == "paid":
        raise Refused(f"invoice {invoice.number} is already paid", code="invoice_paid")
    project = _project(conn, invoice.project_id)
    if project.status != "approved":
        raise Refused(
            "the maintenance fund pays only for a project the owners approved "
            f"(project {project.id} is {project.status})",
            code="project_not_approved",
        )
    paid = project_view(conn, project.id)["paid"]
    if paid + invoice.amount > project.quote:
        raise Refused(
            f"paying {invoice.amount} would take project {project.id} past its approved "
            f"quote of {project.quote} (already paid {paid})",
            code="quote_exceeded",
        )
    fund = fund_account(conn, project.building, ctx.estate.currency)
    target = money_source(ctx, DbResolver(conn, ctx.estate.currency), method, destination)
    posted = post(
        conn,
        kind="fund_expenditure",
        idempotency_key=ctx.idempotency_key,
        legs=[Leg(fund, -invoice.amount), Leg(target, invoice.amount)],
        created_at=ctx.now,
        actor=ctx.actor,
        method=method,
        memo=f"project {project.id} invoice {invoice.number}"[:400],
    )
    conn.execute(
        update(fund_invoices)
        .where(fund_invoices.c.id == invoice_id)
        .values(status="paid", paid_at=ctx.now, transaction_id=posted.transaction_id)
    )
    entry = record_entry(
        conn,
        building=project.building_id,
        at=ctx.now,
        kind="expenditure",
        amount=-invoice.amount,
        transaction_id=posted.transaction_id,
        reference=f"invoice {invoice.number}"[:96],
        project_id=project.id,
    )
    return {
        "transaction_id": posted.transaction_id,
        "invoice_id": invoice_id,
        "project_id": project.id,
        "amount": invoice.amount,
        "fund_balance": posted.balances[fund.code],
        "entry": entry,
    }


def statement(conn: Connection, *, building: str, currency: str, now: datetime) -> dict[str, Any]:
    """The building's fund statement: every entry from the first, chained, and totals."""
    bid = building_id(conn, building)
    rows = conn.execute(
        select(fund_entries).where(fund_entries.c.building_id == bid).order_by(fund_entries.c.seq)
    ).all()
    entries = [
        {
            "seq": r.seq,
            "at": r.at,
            "kind": r.kind,
            "unit": r.unit,
            "project": r.project_id,
            "reference": r.reference,
            "amount": r.amount,
            "transaction_id": r.transaction_id,
            "prev": r.prev_hash,
            "hash": r.hash,
        }
        for r in rows
    ]
    sums = fund_chain.totals(entries)
    account = acc.by_code(conn, fund_code(building))
    per_unit: dict[str, int] = {}
    for e in entries:
        if e["kind"] == "contribution" and e["unit"]:
            per_unit[e["unit"]] = per_unit.get(e["unit"], 0) + int(e["amount"])
    return {
        "format": fund_chain.FORMAT,
        "fund": fund_code(building),
        "building": building,
        "currency": currency,
        "issued_at": now.astimezone(UTC).isoformat(timespec="seconds"),
        "count": len(entries),
        "head": entries[-1]["hash"] if entries else fund_chain.GENESIS,
        **sums,
        "ledger_balance": 0 if account is None else _balance(conn, account.id),
        "contributions_by_unit": dict(sorted(per_unit.items())),
        "entries": entries,
    }


def _balance(conn: Connection, account_id: int) -> int:
    return int(
        conn.execute(select(accounts.c.balance).where(accounts.c.id == account_id)).scalar_one()
    )
