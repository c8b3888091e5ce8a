"""Refunds the way the money came: a kiosk's QR top-up refunded through the sandbox
provider (its own process) by a real server on a socket, once, whatever is lost."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from central.db.database import Database
from central.db.schema import transactions
from central.payments.provider import ProviderApi
from central.payments.tables import provider_refunds
from tests.central.conftest import token_for
from tests.central.payments.support import SECRET, Answer, KioskSide, Sandbox, Served
from tests.kiosk.support import free_port

UNIT, WALLET = "A-0101", "electricity"


def balance(served: Served, token: str, unit: str = UNIT, wallet: str = WALLET) -> int:
    answer = served.call("GET", f"/v1/units/{unit}/wallets", token=token)
    wallets: list[dict[str, object]] = answer.body  # type: ignore[assignment]
    return next(int(str(w["balance"])) for w in wallets if w["purpose"] == wallet)


def refunds_posted(db: Database) -> int:
    with db.read() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(transactions)
                .where(transactions.c.kind == "refund")
            ).scalar_one()
        )


def refund(served: Served, token: str, key: str, top_up: str, amount: int, **extra: str) -> Answer:
    body = {"transaction_id": top_up, "amount": amount, "currency": "CNY", **extra}
    return served.call("POST", "/v1/payments/refunds", body, token=token, key=key)


def provider_refunds_of(sandbox: Sandbox, order_id: str) -> list[int]:
    return [int(r["amount"]) for r in sandbox.order(order_id)["refunds"]]


def test_a_full_refund_goes_back_through_the_provider_and_empties_what_was_owed(
    served: Served, sandbox: Sandbox, kiosk: KioskSide, boss: str
) -> None:
    before = balance(served, boss)
    top_up, order = kiosk.qr_top_up(sandbox, UNIT, WALLET, 5000)
    assert balance(served, boss) == before + 5000
    answer = refund(served, boss, "refund-full-1", top_up, 5000)
    assert answer.status == 201, answer.body
    body = answer.body
    assert (body["order_id"], body["amount"], body["refundable"]) == (order, 5000, 0)
    assert body["balances"]["clearing:sandbox"] == 0  # the provider owes nothing for it now
    assert balance(served, boss) == before
    assert provider_refunds_of(sandbox, order) == [5000]
    detail = served.call("GET", f"/v1/ledger/transactions/{body['transaction_id']}", token=boss)
    assert detail.body["kind"] == "refund"
    assert detail.body["method"] == "provider"


def test_partial_refunds_add_up_to_at_most_what_was_paid(
    served: Served, sandbox: Sandbox, kiosk: KioskSide, boss: str
) -> None:
    before = balance(served, boss)
    top_up, order = kiosk.qr_top_up(sandbox, UNIT, WALLET, 5000)
    first = refund(served, boss, "partial-1", top_up, 2000)
    assert (first.status, first.body["refundable"]) == (201, 3000)
    second = refund(served, boss, "partial-2", top_up, 3000)
    assert (second.status, second.body["refundable"]) == (201, 0)
    third = refund(served, boss, "partial-3", top_up, 1)
    assert (third.status, third.code) == (409, "refund_exceeds_payment")
    assert provider_refunds_of(sandbox, order) == [2000, 3000]
    assert balance(served, boss) == before
    assert refunds_posted(served.db) == 2


def test_the_same_key_twice_refunds_once(
    served: Served, sandbox: Sandbox, kiosk: KioskSide, boss: str
) -> None:
    before = balance(served, boss)
    top_up, order = kiosk.qr_top_up(sandbox, UNIT, WALLET, 3000)
    first = refund(served, boss, "same-key", top_up, 1000)
    again = refund(served, boss, "same-key", top_up, 1000)
    assert first.status == again.status == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.body == first.body
    assert provider_refunds_of(sandbox, order) == [1000]
    assert refunds_posted(served.db) == 1
    assert balance(served, boss) == before + 2000
    other = refund(served, boss, "same-key", top_up, 999)  # the key with another body
    assert (other.status, other.code) == (409, "idempotency_conflict")


def test_the_same_refund_id_under_a_new_key_refunds_once(
    served: Served, sandbox: Sandbox, kiosk: KioskSide, boss: str
) -> None:
    before = balance(served, boss)
    top_up, order = kiosk.qr_top_up(sandbox, UNIT, WALLET, 3000)
    first = refund(served, boss, "rid-key-1", top_up, 1200, refund_id="desk-rf-0001")
    again = refund(served, boss, "rid-key-2", top_up, 1200, refund_id="desk-rf-0001")
    assert first.status == again.status == 201
    assert again.body["transaction_id"] == first.body["transaction_id"]
    assert again.body["already_refunded"] is True
    assert provider_refunds_of(sandbox, order) == [1200]
    assert refunds_posted(served.db) == 1
    assert balance(served, boss) == before + 1800
    reused = refund(served, boss, "rid-key-3", top_up, 500, refund_id="desk-rf-0001")
    assert (reused.status, reused.code) == (409, "refund_id_reused")


def test_more_than_was_paid_or_than_is_left_is_refused_before_the_provider_is_asked(
    served: Served, sandbox: Sandbox, kiosk: KioskSide, boss: str
) -> None:
    top_up, order = kiosk.qr_top_up(sandbox, UNIT, "parking", 4000)
    too_much = refund(served, boss, "over-1", top_up, 4001)
    assert (too_much.status, too_much.code) == (409, "refund_exceeds_payment")
    assert "at most 4000" in too_much.body["error"]["message"]
    # The household spent most of it: the ledger would not take 4000 out of the wallet.
    left = balance(served, boss, wallet="parking")
    spent = served.call(
        "POST",
        "/v1/ledger/charges",
        {"unit": UNIT, "wallet": "parking", "amount": left - 1000, "currency": "CNY"},
        token=boss,
        key="spend-parking",
    )
    assert spent.status == 201, spent.body
    spent_refund = refund(served, boss, "over-2", top_up, 4000)
    assert (spent_refund.status, spent_refund.code) == (409, "insufficient_funds")
    assert provider_refunds_of(sandbox, order) == []  # the provider was never asked
    assert refunds_posted(served.db) == 0
    assert refund(served, boss, "over-3", top_up, 1000).status == 201


def test_a_cash_top_up_is_refunded_at_the_desk_not_through_the_provider(
    served: Served, kiosk: KioskSide, boss: str
) -> None:
    entry = kiosk.journal.record_top_up(
        unit=UNIT, wallet=WALLET, amount=2000, currency="CNY", method="cash"
    )
    assert kiosk.central.sync(kiosk.journal.signed).ok
    cash = kiosk.journal.top_up(entry.seq)
    assert cash is not None
    assert cash.state == "applied"
    answer = refund(served, boss, "cash-1", cash.transaction_id, 2000)
    assert (answer.status, answer.code) == (409, "refund_at_desk")
    assert "staff desk" in answer.body["error"]["message"]
    assert refunds_posted(served.db) == 0


def test_a_lost_provider_answer_then_the_retry_refunds_once_and_posts_once(
    served: Served, sandbox: Sandbox, kiosk: KioskSide, boss: str
) -> None:
    before = balance(served, boss)
    top_up, order = kiosk.qr_top_up(sandbox, UNIT, WALLET, 6000)
    sandbox.post("/control/lose-next-refund-answer")
    lost = refund(served, boss, "lost-1", top_up, 2500)
    assert (lost.status, lost.code) == (503, "provider_unavailable")
    assert "send the same request again" in lost.body["error"]["message"]
    assert provider_refunds_of(sandbox, order) == [2500]  # the provider acted...
    assert refunds_posted(served.db) == 0  # ...the ledger did not
    assert balance(served, boss) == before + 6000
    retry = refund(served, boss, "lost-1", top_up, 2500)
    assert retry.status == 201, retry.body
    assert provider_refunds_of(sandbox, order) == [2500]
    assert refunds_posted(served.db) == 1
    assert balance(served, boss) == before + 3500
    with served.db.read() as conn:
        rows = conn.execute(select(provider_refunds.c.amount)).all()
    assert [r.amount for r in rows] == [2500]


def test_the_provider_down_answers_503_and_posts_nothing(
    served: Served, sandbox: Sandbox, kiosk: KioskSide, boss: str
) -> None:
    before = balance(served, boss)
    top_up, order = kiosk.qr_top_up(sandbox, UNIT, WALLET, 3000)
    real = served.app.state.payment_provider
    served.app.state.payment_provider = ProviderApi(f"http://127.0.0.1:{free_port()}", SECRET)
    try:
        down = refund(served, boss, "down-1", top_up, 3000)
    finally:
        served.app.state.payment_provider = real
    assert (down.status, down.code) == (503, "provider_unavailable")
    assert refunds_posted(served.db) == 0
    assert balance(served, boss) == before + 3000
    assert provider_refunds_of(sandbox, order) == []
    # A server holding another secret is refused by the provider, and says what to check.
    served.app.state.payment_provider = ProviderApi(sandbox.url, b"not the shared secret")
    try:
        forged = refund(served, boss, "down-2", top_up, 3000)
    finally:
        served.app.state.payment_provider = real
    assert forged.status == 503
    assert "PREPAID_PROVIDER_SECRET_HEX" in forged.body["error"]["message"]
    assert refund(served, boss, "down-1", top_up, 3000).status == 201
    assert provider_refunds_of(sandbox, order) == [3000]


def test_only_a_manager_refunds_through_the_provider(
    served: Served, sandbox: Sandbox, kiosk: KioskSide, boss: str
) -> None:
    top_up, order = kiosk.qr_top_up(sandbox, UNIT, WALLET, 1000)
    for role in ("cashier", "auditor", "technician"):
        answer = refund(served, token_for(served.db, role), f"role-{role}", top_up, 1000)
        assert (answer.status, answer.code) == (403, "role_not_allowed"), role
    assert provider_refunds_of(sandbox, order) == []
    assert refunds_posted(served.db) == 0


def test_a_server_without_a_provider_says_how_to_configure_one(
    served: Served, sandbox: Sandbox, kiosk: KioskSide, boss: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    top_up, _ = kiosk.qr_top_up(sandbox, UNIT, WALLET, 1000)
    for name in ("PREPAID_PROVIDER_URL", "PREPAID_PROVIDER_SECRET_HEX"):
        monkeypatch.delenv(name, raising=False)
    served.app.state.payment_provider = None
    answer = refund(served, boss, "none-1", top_up, 1000)
    assert (answer.status, answer.code) == (503, "provider_not_configured")
    assert "PREPAID_PROVIDER_URL" in answer.body["error"]["message"]
    monkeypatch.setenv("PREPAID_PROVIDER_URL", sandbox.url)
    monkeypatch.setenv("PREPAID_PROVIDER_SECRET_HEX", SECRET.hex())
    assert refund(served, boss, "none-1", top_up, 1000).status == 201
