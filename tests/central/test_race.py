"""Two OS processes charge one wallet at once: exactly the charges the policy
allows succeed, and no update is lost."""

from __future__ import annotations

import multiprocessing

from sqlalchemy import func, select

from central.db.database import Database
from central.db.schema import accounts, transactions
from central.errors import Refused
from central.ledger import operations as ops
from central.ledger.check import check
from central.ledger.idempotency import run_once
from tests.central.conftest import ESTATE, DatabaseFactory

CHARGES_PER_PROCESS = 500
ALLOWED = 613  # the wallet holds exactly this many charges: more than one process makes
PRICE = 100


def _charge_many(
    url: str, worker: int, start: multiprocessing.synchronize.Barrier, out: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    db = Database.open(url, migrate=False)
    start.wait()  # both processes open their database first, then race
    succeeded = refused = 0
    for i in range(CHARGES_PER_PROCESS):
        key = f"race-{worker}-{i}"
        body = {"unit": "A-0101", "purpose": "services", "amount": PRICE, "currency": "CNY"}
        try:
            with db.write() as conn:
                ctx = ops.Context(estate=ESTATE, idempotency_key=key, actor=f"test:{worker}")
                run_once(
                    conn,
                    key=key,
                    operation="charge",
                    request=body,
                    apply=lambda c=conn, x=ctx, b=body: ops.charge(c, x, **b),
                )  # type: ignore[misc]
            succeeded += 1
        except Refused:
            refused += 1
    db.close()
    out.put((worker, succeeded, refused))


def test_two_processes_never_overspend_a_wallet(new_database: DatabaseFactory) -> None:
    url = new_database()
    db = Database.open(url, migrate=False)
    with db.write() as conn:
        ctx = ops.Context(estate=ESTATE, idempotency_key="fund", actor="test")
        ops.top_up(
            conn,
            ctx,
            unit="A-0101",
            purpose="services",
            amount=ALLOWED * PRICE,
            currency="CNY",
            method="staff_desk",
        )

    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(2)
    out = spawn.Queue()
    workers = [spawn.Process(target=_charge_many, args=(url, w, start, out)) for w in (1, 2)]
    for p in workers:
        p.start()
    results = [out.get(timeout=240) for _ in workers]
    for p in workers:
        p.join(timeout=60)
        assert p.exitcode == 0

    succeeded = sum(r[1] for r in results)
    assert succeeded == ALLOWED
    assert sum(r[2] for r in results) == 2 * CHARGES_PER_PROCESS - ALLOWED
    # Neither process alone could reach the limit, so both had to succeed in turn.
    assert all(r[1] > 0 for r in results)
    with db.read() as conn:
        balance = conn.execute(
            select(accounts.c.balance).where(accounts.c.code == "wallet:A-0101:services")
        ).scalar_one()
        charges = conn.execute(
            select(func.count()).select_from(transactions).where(transactions.c.kind == "charge")
        ).scalar_one()
        assert check(conn).ok
    assert balance == 0
    assert charges == ALLOWED
    db.close()
