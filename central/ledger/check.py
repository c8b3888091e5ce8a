"""The ledger's self-check: every transaction balances, every cached figure is
the sum of what it caches. Problems are returned as values, one per finding."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, literal, select

from central.db.schema import accounts, holds, postings, transactions


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # unbalanced | empty_transaction | balance_mismatch | held_mismatch
    subject: str
    detail: str


@dataclass(frozen=True, slots=True)
class Report:
    transactions: int
    postings: int
    accounts: int
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


def check(conn: Connection) -> Report:
    problems: list[Problem] = []
    for row in conn.execute(
        select(postings.c.transaction_id, func.sum(postings.c.amount).label("total"))
        .group_by(postings.c.transaction_id)
        .having(func.sum(postings.c.amount) != 0)
    ):
        problems.append(
            Problem("unbalanced", row.transaction_id, f"postings sum to {row.total}, not 0")
        )
    has_postings = select(literal(1)).where(postings.c.transaction_id == transactions.c.id)
    for row in conn.execute(select(transactions.c.id).where(~has_postings.exists())):
        problems.append(Problem("empty_transaction", row.id, "a transaction with no postings"))

    posted = (
        select(postings.c.account_id, func.sum(postings.c.amount).label("total"))
        .group_by(postings.c.account_id)
        .subquery()
    )
    for mismatch in conn.execute(
        select(accounts.c.code, accounts.c.balance, func.coalesce(posted.c.total, 0).label("total"))
        .outerjoin(posted, posted.c.account_id == accounts.c.id)
        .where(accounts.c.balance != func.coalesce(posted.c.total, 0))
    ):
        problems.append(
            Problem(
                "balance_mismatch",
                mismatch.code,
                f"cached balance {mismatch.balance} but postings sum to {mismatch.total}",
            )
        )
    open_holds = (
        select(holds.c.account_id, func.sum(holds.c.amount).label("total"))
        .where(holds.c.status == "open")
        .group_by(holds.c.account_id)
        .subquery()
    )
    for cached in conn.execute(
        select(
            accounts.c.code, accounts.c.held, func.coalesce(open_holds.c.total, 0).label("total")
        )
        .outerjoin(open_holds, open_holds.c.account_id == accounts.c.id)
        .where(accounts.c.held != func.coalesce(open_holds.c.total, 0))
    ):
        problems.append(
            Problem(
                "held_mismatch",
                cached.code,
                f"cached held {cached.held} but open holds sum to {cached.total}",
            )
        )
    counts = conn.execute(
        select(
            select(func.count()).select_from(transactions).scalar_subquery(),
            select(func.count()).select_from(postings).scalar_subquery(),
            select(func.count()).select_from(accounts).scalar_subquery(),
        )
    ).one()
    return Report(int(counts[0]), int(counts[1]), int(counts[2]), problems)
