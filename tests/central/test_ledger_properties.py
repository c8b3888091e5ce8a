"""Property tests: random sequences of ledger operations keep the books right.

Invariants after every step: every transaction balances and every cached
balance equals the sum of its postings (``check``); no wallet's available money
is below its floor; replaying a key changes nothing; reversing the last
transaction restores every balance.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from central.db.database import Database
from central.db.schema import accounts
from central.errors import CentralError
from central.ledger import operations as ops
from central.ledger.check import check
from central.ledger.idempotency import run_once
from tests.central.conftest import ESTATE, DatabaseFactory

UNITS = ["A-0101", "A-0102", "B-0101"]
WALLETS = ["electricity", "services", "maintenance_fund", "parking"]
amounts = st.integers(min_value=1, max_value=5000)


class LedgerMachine(RuleBasedStateMachine):
    new_database: DatabaseFactory

    def __init__(self) -> None:
        super().__init__()
        self.db = Database.open(type(self).new_database(), migrate=False)
        self.n = 0
        self.done: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []
        self.holds: list[str] = []
        self.last: tuple[str, dict[str, int]] | None = None

    def teardown(self) -> None:
        self.db.close()

    def balances(self) -> dict[str, int]:
        with self.db.read() as conn:
            return {
                r.code: r.balance for r in conn.execute(select(accounts.c.code, accounts.c.balance))
            }

    def apply(self, operation: str, body: dict[str, Any]) -> dict[str, Any] | None:
        self.n += 1
        key = f"k{self.n}"
        before = self.balances()
        fn = getattr(ops, operation)
        try:
            with self.db.write() as conn:
                ctx = ops.Context(estate=ESTATE, idempotency_key=key, actor="test")
                result = run_once(
                    conn,
                    key=key,
                    operation=operation,
                    request=body,
                    apply=lambda: fn(conn, ctx, **body),
                ).body
        except CentralError:
            assert self.balances() == before, "a refused operation changed a balance"
            self.last = None
            return None
        self.done.append((key, operation, body, result))
        self.last = (result["transaction_id"], before) if "transaction_id" in result else None
        return result

    @rule(
        unit=st.sampled_from(UNITS),
        wallet=st.sampled_from(WALLETS),
        amount=amounts,
        method=st.sampled_from(["cash", "provider", "staff_desk"]),
    )
    def top_up(self, unit: str, wallet: str, amount: int, method: str) -> None:
        self.apply(
            "top_up",
            {
                "unit": unit,
                "purpose": wallet,
                "amount": amount,
                "currency": "CNY",
                "method": method,
                "source": "kiosk-1" if method == "cash" else "wechat",
            },
        )

    @rule(unit=st.sampled_from(UNITS), wallet=st.sampled_from(WALLETS), amount=amounts)
    def charge(self, unit: str, wallet: str, amount: int) -> None:
        self.apply("charge", {"unit": unit, "purpose": wallet, "amount": amount, "currency": "CNY"})

    @rule(
        unit=st.sampled_from(UNITS),
        a=st.sampled_from(WALLETS),
        b=st.sampled_from(WALLETS),
        amount=amounts,
    )
    def transfer(self, unit: str, a: str, b: str, amount: int) -> None:
        result = self.apply(
            "transfer",
            {"unit": unit, "from_purpose": a, "to_purpose": b, "amount": amount, "currency": "CNY"},
        )
        if a == "maintenance_fund":
            assert result is None, "money moved out of the maintenance fund"

    @rule(unit=st.sampled_from(UNITS), wallet=st.sampled_from(WALLETS), amount=amounts)
    def refund(self, unit: str, wallet: str, amount: int) -> None:
        self.apply(
            "refund",
            {
                "unit": unit,
                "purpose": wallet,
                "amount": amount,
                "currency": "CNY",
                "method": "staff_desk",
            },
        )

    @rule(unit=st.sampled_from(UNITS), wallet=st.sampled_from(WALLETS), amount=amounts)
    def hold(self, unit: str, wallet: str, amount: int) -> None:
        result = self.apply(
            "place_hold",
            {
                "unit": unit,
                "purpose": wallet,
                "amount": amount,
                "currency": "CNY",
                "service": "laundry",
            },
        )
        if result is not None:
            self.holds.append(result["hold_id"])

    @precondition(lambda self: bool(self.holds))
    @rule(data=st.data(), fraction=st.floats(min_value=0.01, max_value=1.0))
    def capture(self, data: st.DataObject, fraction: float) -> None:
        hold_id = data.draw(st.sampled_from(self.holds))
        self.apply(
            "capture_hold",
            {"hold_id": hold_id, "amount": max(1, int(5000 * fraction)), "currency": "CNY"},
        )

    @precondition(lambda self: bool(self.holds))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        self.apply("release_hold", {"hold_id": data.draw(st.sampled_from(self.holds))})

    @precondition(lambda self: self.last is not None)
    @rule()
    def reverse_last(self) -> None:
        assert self.last is not None
        transaction_id, before = self.last
        result = self.apply("reverse", {"transaction_id": transaction_id, "reason": "test"})
        if result is not None:
            after = self.balances()
            assert {k: v for k, v in after.items() if k in before} == before
            self.last = None

    @precondition(lambda self: bool(self.done))
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        key, operation, body, first = data.draw(st.sampled_from(self.done))
        before = self.balances()
        fn = getattr(ops, operation)
        with self.db.write() as conn:
            ctx = ops.Context(estate=ESTATE, idempotency_key=key, actor="test")
            outcome = run_once(
                conn,
                key=key,
                operation=operation,
                request=body,
                apply=lambda: fn(conn, ctx, **body),
            )
        assert outcome.replayed
        assert outcome.body == first
        assert self.balances() == before

    @invariant()
    def books_balance(self) -> None:
        with self.db.read() as conn:
            report = check(conn)
            assert report.ok, report.problems
            for row in conn.execute(
                select(
                    accounts.c.code, accounts.c.balance, accounts.c.held, accounts.c.floor
                ).where(accounts.c.floor.is_not(None))
            ):
                assert row.balance - row.held >= row.floor, f"{row.code} passed its floor"


def test_ledger_state_machine(new_database: DatabaseFactory) -> None:
    LedgerMachine.new_database = staticmethod(new_database)  # type: ignore[assignment]
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


@pytest.mark.parametrize("amount", [1, 999, 1000])
def test_emergency_credit_floor(db: Database, amount: int) -> None:
    with db.write() as conn:
        ctx = ops.Context(estate=ESTATE, idempotency_key="c1", actor="test")
        result = ops.charge(
            conn, ctx, unit="A-0101", purpose="electricity", amount=amount, currency="CNY"
        )
    assert result["balances"]["wallet:A-0101:electricity"] == -amount
