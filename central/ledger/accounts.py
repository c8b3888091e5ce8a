"""Finding and creating the ledger's accounts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from central.db.schema import accounts, units
from central.db.types import utcnow
from central.errors import NotFound
from domain.wallets import UTILITIES, Purpose, wallet_code


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    code: str
    kind: str
    unit_id: int | None
    purpose: str | None
    currency: str
    floor: int | None


_COLUMNS = (
    accounts.c.id,
    accounts.c.code,
    accounts.c.kind,
    accounts.c.unit_id,
    accounts.c.purpose,
    accounts.c.currency,
    accounts.c.floor,
)


def by_code(conn: Connection, code: str) -> Account | None:
    row = conn.execute(select(*_COLUMNS).where(accounts.c.code == code)).first()
    return Account(*row) if row else None


def by_id(conn: Connection, account_id: int) -> Account:
    row = conn.execute(select(*_COLUMNS).where(accounts.c.id == account_id)).one()
    return Account(*row)


def wallet(conn: Connection, unit_code: str, purpose: Purpose | str) -> Account:
    try:
        purpose = Purpose(purpose)
    except ValueError:
        raise NotFound(
            f"there is no wallet {purpose!r}; wallets are: {', '.join(p.value for p in Purpose)}",
            code="unknown_wallet",
        ) from None
    account = by_code(conn, wallet_code(unit_code, purpose))
    if account is None:
        if conn.execute(select(units.c.id).where(units.c.code == unit_code)).first() is None:
            raise NotFound(f"there is no unit {unit_code!r}", code="unknown_unit")
        raise NotFound(f"unit {unit_code} has no {purpose.value} wallet", code="unknown_wallet")
    return account


def default_floor(purpose: Purpose, emergency_credit: int) -> int:
    """Utilities may run into the estate's emergency credit; nothing else goes below zero."""
    return -emergency_credit if purpose in UTILITIES else 0


def open_wallets(
    conn: Connection, *, unit_id: int, unit_code: str, currency: str, emergency_credit: int
) -> None:
    now = utcnow()
    conn.execute(
        insert(accounts),
        [
            {
                "code": wallet_code(unit_code, purpose),
                "kind": "wallet",
                "unit_id": unit_id,
                "purpose": purpose.value,
                "currency": currency,
                "floor": default_floor(purpose, emergency_credit),
                "created_at": now,
            }
            for purpose in Purpose
        ],
    )


def system_account(conn: Connection, code: str, *, kind: str, currency: str) -> Account:
    """The system account with this code, opened on first use (a new kiosk's cash box)."""
    account = by_code(conn, code)
    if account is not None:
        return account
    try:
        with conn.begin_nested():
            conn.execute(
                insert(accounts).values(
                    code=code, kind=kind, currency=currency, created_at=utcnow()
                )
            )
    except IntegrityError:
        # Another transaction opened it at the same moment (two kiosks' first cash,
        # two processes' first charge to a new service): theirs is the account.
        pass
    found = by_code(conn, code)
    assert found is not None
    return found
