"""The batch's in-memory hot path agrees with the one-at-a-time path, entry for entry."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from central.api.routes_ledger import BATCH_OPERATIONS, BATCH_PLANNERS
from central.db.database import Database
from central.db.schema import accounts
from central.errors import CentralError
from central.ledger.batch import Entry, apply_batch
from central.ledger.check import check
from central.ledger.idempotency import run_once
from central.ledger.operations import execute
from central.ledger.plans import Context, DbResolver
from tests.central.conftest import ESTATE, DatabaseFactory

UNITS = ["A-0101", "A-0102", "Z-9"]
WALLETS = ["electricity", "services", "maintenance_fund", "beer"]

entry_bodies = st.one_of(
    st.builds(
        lambda u, w, a, m: (
            "top_up",
            {
                "unit": u,
                "wallet": w,
                "amount": a,
                "currency": "CNY",
                "method": m,
                "source": "kiosk-1" if m == "cash" else ("wx" if m == "provider" else ""),
            },
        ),
        st.sampled_from(UNITS),
        st.sampled_from(WALLETS),
        st.integers(-2, 30),
        st.sampled_from(["cash", "provider", "staff_desk"]),
    ),
    st.builds(
        lambda u, w, a: ("charge", {"unit": u, "wallet": w, "amount": a, "currency": "CNY"}),
        st.sampled_from(UNITS),
        st.sampled_from(WALLETS),
        st.integers(1, 30),
    ),
    st.builds(
        lambda u, a, b, n: (
            "transfer",
            {"unit": u, "from_wallet": a, "to_wallet": b, "amount": n, "currency": "CNY"},
        ),
        st.sampled_from(UNITS),
        st.sampled_from(WALLETS),
        st.sampled_from(WALLETS),
        st.integers(1, 30),
    ),
    st.builds(
        lambda u, w, a: (
            "refund",
            {"unit": u, "wallet": w, "amount": a, "currency": "CNY", "method": "staff_desk"},
        ),
        st.sampled_from(UNITS),
        st.sampled_from(WALLETS),
        st.integers(1, 30),
    ),
)


def _balances(db: Database) -> dict[str, int]:
    with db.read() as conn:
        return {
            r.code: r.balance
            for r in conn.execute(select(accounts.c.code, accounts.c.balance))
            if r.balance
        }


def test_batch_equals_one_at_a_time(new_database: DatabaseFactory) -> None:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.tuples(st.integers(0, 12), entry_bodies), min_size=1, max_size=25))
    def run(raw: list[tuple[int, tuple[str, dict[str, Any]]]]) -> None:
        entries = [Entry(f"k{n}", op, body) for n, (op, body) in raw]
        batch_db = Database.open(new_database(), migrate=False)
        single_db = Database.open(new_database(), migrate=False)
        try:
            with batch_db.write() as conn:
                verdicts = apply_batch(
                    conn,
                    entries,
                    planners=BATCH_PLANNERS,
                    operations=BATCH_OPERATIONS,
                    context_for=lambda key: Context(ESTATE, key, "test"),
                    currency="CNY",
                )
            expected = []
            for e in entries:
                try:
                    with single_db.write() as conn:
                        ctx = Context(ESTATE, e.key, "test")
                        outcome = run_once(
                            conn,
                            key=e.key,
                            operation=e.operation,
                            request=e.body,
                            apply=lambda c=conn, x=ctx, en=e: execute(
                                c, x, BATCH_PLANNERS[en.operation](DbResolver(c, "CNY"), x, en.body)
                            ),  # type: ignore[misc]
                        )
                    expected.append("duplicate" if outcome.replayed else "applied")
                except CentralError as err:
                    expected.append(err.code)
            got = [v.verdict if v.verdict != "rejected" else v.code for v in verdicts]
            assert got == expected
            assert _balances(batch_db) == _balances(single_db)
            with batch_db.read() as conn:
                assert check(conn).ok
        finally:
            batch_db.close()
            single_db.close()

    run()
