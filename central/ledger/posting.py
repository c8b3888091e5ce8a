"""Posting a balanced transaction: the one place the ledger's money moves.

Each leg is applied by one conditional ``UPDATE`` that also enforces the
account's overdraft floor; on PostgreSQL the row lock it takes serialises
concurrent writers to a wallet, and on SQLite ``BEGIN IMMEDIATE`` does. So the
policy check and the write are one step and no update is ever lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, insert, or_, update

from central.db.schema import accounts, postings, transactions
from central.errors import Refused
from central.ledger.accounts import Account


@dataclass(frozen=True, slots=True)
class Leg:
    account: Account
    amount: int  # the change to the account's balance; a transaction's legs sum to zero


@dataclass(frozen=True, slots=True)
class Posted:
    transaction_id: str
    created_at: datetime
    balances: dict[str, int]  # account code -> balance after


class UnbalancedTransaction(AssertionError):
    """A programming error: the legs built for a transaction do not sum to zero."""


def new_transaction_id() -> str:
    return uuid.uuid4().hex


def apply_leg(conn: Connection, leg: Leg) -> int:
    """Apply one leg under the account's floor; returns the balance after."""
    where = accounts.c.id == leg.account.id
    if leg.amount < 0:
        where = and_(
            where,
            or_(
                accounts.c.floor.is_(None),
                accounts.c.balance - accounts.c.held + leg.amount >= accounts.c.floor,
            ),
        )
    result = conn.execute(
        update(accounts)
        .where(where)
        .values(balance=accounts.c.balance + leg.amount)
        .returning(accounts.c.balance)
    ).first()
    if result is None:
        raise Refused(
            f"{leg.account.code} has not enough available money for {-leg.amount} "
            "under its overdraft policy",
            code="insufficient_funds",
        )
    balance: int = result[0]
    return balance


def post(
    conn: Connection,
    *,
    kind: str,
    idempotency_key: str,
    legs: Sequence[Leg],
    created_at: datetime,
    actor: str,
    method: str | None = None,
    terminal_id: str | None = None,
    memo: str = "",
    reverses_id: str | None = None,
    hold_id: str | None = None,
) -> Posted:
    if sum(leg.amount for leg in legs) != 0 or any(leg.amount == 0 for leg in legs):
        raise UnbalancedTransaction(
            f"{kind}: legs {[(leg.account.code, leg.amount) for leg in legs]}"
        )
    transaction_id = new_transaction_id()
    balances: dict[str, int] = {}
    # Lock accounts in id order so two transactions touching the same pair of
    # accounts can never wait on each other (PostgreSQL would report a deadlock).
    for leg in sorted(legs, key=lambda leg: leg.account.id):
        balances[leg.account.code] = apply_leg(conn, leg)
    conn.execute(
        insert(transactions).values(
            id=transaction_id,
            kind=kind,
            idempotency_key=idempotency_key,
            created_at=created_at,
            reverses_id=reverses_id,
            hold_id=hold_id,
            method=method,
            actor=actor,
            terminal_id=terminal_id,
            memo=memo,
        )
    )
    conn.execute(
        insert(postings),
        [
            {"transaction_id": transaction_id, "account_id": leg.account.id, "amount": leg.amount}
            for leg in legs
        ],
    )
    return Posted(transaction_id, created_at, balances)
