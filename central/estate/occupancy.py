"""Move-in and move-out.

A move-out settles the household only when its last current resident leaves:
money left in a wallet is refunded the way the estate chooses (the staff desk
or the provider), and a debt moves to the departing resident's own account
(``debt:resident:<id>``), so the next occupant starts from zero and never pays
for someone else. The maintenance fund stays with the unit: it belongs to the
building, not to the person. The resident's credentials and sign-in sessions
are revoked either way. When the household leaves, every meter of the unit
gives its final reading, which is charged before the balances are settled.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, func, select, update

from central.db.schema import accounts, credentials, holds, residents
from central.db.types import utcnow
from central.errors import InvalidRequest, NotFound, Refused
from central.estate import registry
from central.ledger import accounts as acc
from central.ledger.plans import Context, DbResolver, money_source
from central.ledger.posting import Leg, post
from central.metering.environment import environment
from central.metering.ingest import ingest
from central.metering.tables import meters
from central.residents.login import revoke_all
from domain.metering_messages import Reading
from domain.wallets import Purpose


def debt_code(resident_id: int) -> str:
    return f"debt:resident:{resident_id}"


def move_in(conn: Connection, ctx: Context, *, unit: str, **resident: Any) -> dict[str, Any]:
    resident_id = registry.add_resident(conn, unit=unit, moved_in_at=ctx.now, **resident)
    return {"resident_id": resident_id, "unit": unit}


def move_out(
    conn: Connection,
    ctx: Context,
    *,
    unit: str,
    resident_id: int,
    refund_method: str = "staff_desk",
    refund_to: str = "",
    final_readings: dict[str, str] | None = None,
) -> dict[str, Any]:
    unit_id = registry.unit_id(conn, unit)
    row = conn.execute(
        select(residents.c.unit_id, residents.c.moved_out_at).where(residents.c.id == resident_id)
    ).first()
    if row is None or row.unit_id != unit_id:
        raise NotFound(f"unit {unit} has no resident {resident_id}", code="unknown_resident")
    if row.moved_out_at is not None:
        raise Refused(f"resident {resident_id} has already moved out", code="already_moved_out")
    if refund_method not in ("staff_desk", "provider"):
        raise InvalidRequest("refund by 'staff_desk' or 'provider'", code="invalid_method")

    conn.execute(
        update(residents).where(residents.c.id == resident_id).values(moved_out_at=ctx.now)
    )
    revoke_all(conn, resident_id)
    revoked = conn.execute(
        update(credentials)
        .where(credentials.c.resident_id == resident_id, credentials.c.status == "active")
        .values(status="revoked", status_changed_at=ctx.now)
    ).rowcount
    remaining = conn.execute(
        select(func.count())
        .select_from(residents)
        .where(residents.c.unit_id == unit_id, residents.c.moved_out_at.is_(None))
    ).scalar_one()
    settled: list[dict[str, Any]] = []
    readings: list[dict[str, Any]] = []
    if remaining == 0:
        readings = _final_readings(conn, ctx, unit_id, final_readings or {})
        settled = _settle(conn, ctx, unit, unit_id, resident_id, refund_method, refund_to)
    return {
        "resident_id": resident_id,
        "unit": unit,
        "credentials_revoked": revoked,
        "household_settled": remaining == 0,
        "final_readings": readings,
        "settlements": settled,
    }


def _final_readings(
    conn: Connection, ctx: Context, unit_id: int, given: dict[str, str]
) -> list[dict[str, Any]]:
    """Charge the household's last usage before its balances are settled.

    Every active meter of the unit needs its final reading; each must be charged
    (not held for review), or the move-out waits until a manager has looked."""
    serials = sorted(
        conn.execute(
            select(meters.c.serial).where(meters.c.unit_id == unit_id, meters.c.status == "active")
        ).scalars()
    )
    missing = [serial for serial in serials if serial not in given]
    if missing:
        raise Refused(
            f"the household leaves with meters: give the final reading of {', '.join(missing)}",
            code="final_readings_required",
        )
    unknown = sorted(set(given) - set(serials))
    if unknown:
        raise InvalidRequest(
            f"{', '.join(unknown)} is not a meter of this unit", code="unknown_meter"
        )
    try:
        batch = [Reading(serial, ctx.now, Decimal(given[serial])) for serial in serials]
    except (InvalidOperation, ValueError) as err:
        raise InvalidRequest("a final reading is a number", code="invalid_reading") from err
    if not batch:
        return []
    result = ingest(conn, environment(conn, ctx.estate), batch, now=ctx.now, actor=ctx.actor)
    refused = [v for v in result.verdicts if v.verdict in ("held", "rejected")]
    if refused:
        first = refused[0]
        raise Refused(
            f"the final reading of {first.serial} was {first.verdict}: {first.reason}",
            code="final_reading_not_charged",
        )
    return [v.to_json() for v in result.verdicts]


def _settle(
    conn: Connection,
    ctx: Context,
    unit: str,
    unit_id: int,
    resident_id: int,
    refund_method: str,
    refund_to: str,
) -> list[dict[str, Any]]:
    open_holds = conn.execute(
        select(func.count())
        .select_from(holds)
        .join(accounts, accounts.c.id == holds.c.account_id)
        .where(accounts.c.unit_id == unit_id, holds.c.status == "open")
    ).scalar_one()
    if open_holds:
        raise Refused(
            "money is on hold for this unit (a laundry run, a parked car): close it first",
            code="open_holds",
        )
    conn.execute(
        update(credentials)
        .where(credentials.c.unit_id == unit_id, credentials.c.status == "active")
        .values(status="revoked", status_changed_at=ctx.now)
    )
    wallets = conn.execute(
        select(accounts.c.id, accounts.c.purpose, accounts.c.balance).where(
            accounts.c.unit_id == unit_id, accounts.c.balance != 0
        )
    ).all()
    settled = []
    for wallet_row in wallets:
        if wallet_row.purpose == Purpose.MAINTENANCE_FUND.value:
            continue
        wallet = acc.by_id(conn, wallet_row.id)
        balance = int(wallet_row.balance)
        if balance > 0:
            other = money_source(
                ctx, DbResolver(conn, ctx.estate.currency), refund_method, refund_to
            )
            kind = "refund"
        else:
            other = acc.system_account(
                conn, debt_code(resident_id), kind="resident_debt", currency=ctx.estate.currency
            )
            kind = "debt_transfer"
        posted = post(
            conn,
            kind=kind,
            idempotency_key=f"{ctx.idempotency_key}:{wallet.purpose}",
            legs=[Leg(wallet, -balance), Leg(other, balance)],
            created_at=ctx.now,
            actor=ctx.actor,
            method=refund_method if kind == "refund" else None,
            memo=f"move-out of resident {resident_id}",
        )
        settled.append(
            {
                "wallet": wallet.code,
                "kind": kind,
                "amount": balance,
                "to": other.code,
                "transaction_id": posted.transaction_id,
            }
        )
    return settled


def erase(conn: Connection, resident_id: int) -> dict[str, Any]:
    """Erase a resident's personal data; the ledger, which never held it, is untouched."""
    found = conn.execute(select(residents.c.id).where(residents.c.id == resident_id)).first()
    if found is None:
        raise NotFound(f"there is no resident {resident_id}", code="unknown_resident")
    conn.execute(
        update(residents)
        .where(residents.c.id == resident_id)
        .values(name=f"erased resident {resident_id}", phone=None, email=None)
    )
    revoke_all(conn, resident_id)
    return {"resident_id": resident_id, "erased_at": utcnow().isoformat()}
