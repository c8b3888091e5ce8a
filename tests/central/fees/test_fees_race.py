"""Several desks pay the same bills at once: each bill is paid once, and the
building fund's chain never forks."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from sqlalchemy import select

from central.db.database import Database
from central.db.schema import accounts
from central.errors import Refused
from central.fees import fund, payments
from central.ledger.plans import Context
from domain import fund_chain
from tests.central.conftest import ESTATE

DESKS = 4


def _pay_all(
    db: Database,
    desk: int,
    bill_ids: list[int],
    start: threading.Barrier,
    out: list[tuple[int, str]],
) -> None:
    start.wait()
    for bill_id in bill_ids:
        ctx = Context(estate=ESTATE, idempotency_key=f"desk-{desk}-{bill_id}", actor=f"desk:{desk}")
        try:
            with db.write() as conn:
                payments.pay_bill(conn, ctx, bill_id=bill_id, what="whole", method="staff_desk")
            out.append((bill_id, "paid"))
        except Refused as err:
            out.append((bill_id, err.code))


def test_concurrent_desks_pay_each_contribution_once(db: Database) -> None:
    with db.write() as conn:
        levy = fund.levy_contributions(
            conn,
            building="A",
            per_m2="10",
            reason="purchase",
            label="",
            due_on=date(2026, 1, 31),
            now=Context(estate=ESTATE, idempotency_key="x", actor="t").now,
            currency="CNY",
        )
    bill_ids = [int(b["bill_id"]) for b in levy["bills"]]
    start = threading.Barrier(DESKS)
    outcomes: list[tuple[int, str]] = []
    threads = [
        threading.Thread(target=_pay_all, args=(db, desk, bill_ids, start, outcomes))
        for desk in range(DESKS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for bill_id in bill_ids:
        codes = sorted(code for b, code in outcomes if b == bill_id)
        assert codes == ["bill_paid"] * (DESKS - 1) + ["paid"], codes
    with db.read() as conn:
        statement: dict[str, Any] = fund.statement(
            conn, building="A", currency="CNY", now=Context(ESTATE, "x", "t").now
        )
        balance = conn.execute(
            select(accounts.c.balance).where(accounts.c.code == "fund:maintenance:A")
        ).scalar_one()
    assert fund_chain.verify(statement) == []
    assert statement["count"] == len(bill_ids)
    assert statement["balance"] == balance == 3 * 88500
