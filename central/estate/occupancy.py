"""Move-in and move-out.

A move-out settles the household only when its last current resident leaves:
money left in a wallet is refunded the way the estate chooses (the staff desk
or the provider), and a debt moves to the departing resident's own account
(``debt:resident:<id>``), so the next occupant starts from zero and never pays
for someone else. The maintenance fund stays with the unit: it belongs to the
building, not to the person. The resident's credentials and sign-in sessions
are revoked either way. Final meter readings, where meters exist, are taken by
the metering module before the move-out is recorded.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select, update

from central.db.schema import accounts, credentials, holds, residents
from central.db.types import utcnow
from central.errors import InvalidRequest, NotFound, Refused
from central.estate import registry
from central.ledger import accounts as acc
from central.ledger.plans import Context, DbResolver, money_source
from central.ledger.posting import Leg, post
from central.residents.login import revoke_all
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
    if remaining == 0:
        settled = _settle(conn, ctx, unit, unit_id, resident_id, refund_method, refund_to)
    return {
        "resident_id": resident_id,
        "unit": unit,
        "credentials_revoked": revoked,
        "household_settled": remaining == 0,
        "settlements": settled,
    }


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
