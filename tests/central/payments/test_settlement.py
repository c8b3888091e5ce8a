"""The provider's daily settlement file against the clearing account: fetched from the
sandbox provider (its own process) by a real server on a socket, every difference
reported with what to do, the fee and the payout posted once per file."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from central.payments.provider import ProviderApi
from tests.central.conftest import token_for
from tests.central.payments.support import SECRET, Answer, KioskSide, Sandbox, Served
from tests.kiosk.support import free_port

UNIT = "A-0102"


def today() -> date:
    # The test estate's and the sandbox provider's day are both Asia/Shanghai.
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def fee(amount: int) -> int:
    """The sandbox's 0.6%, rounded half up (a refund's is handed back, negative)."""
    value = (abs(amount) * 60 + 5000) // 10000
    return value if amount > 0 else -value


def balance_of(served: Served, code: str) -> int:
    from sqlalchemy import select

    from central.db.schema import accounts

    with served.db.read() as conn:
        found = conn.execute(select(accounts.c.balance).where(accounts.c.code == code)).first()
    return 0 if found is None else int(found.balance)


def report(served: Served, token: str) -> Answer:
    return served.call("GET", f"/v1/payments/settlements/{today().isoformat()}", token=token)


def post(served: Served, token: str, key: str) -> Answer:
    return served.call(
        "POST", f"/v1/payments/settlements/{today().isoformat()}", token=token, key=key
    )


def refund(served: Served, token: str, key: str, top_up: str, amount: int) -> Answer:
    body = {"transaction_id": top_up, "amount": amount, "currency": "CNY"}
    return served.call("POST", "/v1/payments/refunds", body, token=token, key=key)


def test_a_day_that_matches_posts_its_fee_and_payout_once_and_empties_the_clearing_account(
    served: Served, sandbox: Sandbox, kiosk: KioskSide, boss: str
) -> None:
    first, first_order = kiosk.qr_top_up(sandbox, UNIT, "electricity", 5000)
    second, _ = kiosk.qr_top_up(sandbox, UNIT, "water", 3000)
    assert refund(served, boss, "stl-refund", first, 2000).status == 201
    assert balance_of(served, "clearing:sandbox") == -6000  # the provider owes 50 + 30 - 20
    seen = report(served, boss)
    assert seen.status == 200, seen.body
    r = seen.body
    assert r["reconciled"] is True
    assert r["counts"]["matched"] == 3
    assert sum(r["counts"].values()) == 3
    assert [(ln["type"], ln["gross"], ln["fee"]) for ln in r["lines"]] == [
        ("payment", 5000, fee(5000)),
        ("payment", 3000, fee(3000)),
        ("refund", -2000, fee(-2000)),
    ]
    assert {ln["transaction_id"] for ln in r["lines"][:2]} == {first, second}
    assert r["lines"][0]["order_id"] == first_order
    settled_fee = fee(5000) + fee(3000) + fee(-2000)
    assert r["clearing"] == {
        "account": "clearing:sandbox",
        "expected": 6000,
        "settled": 6000,
        "difference": 0,
        "fee": settled_fee,
        "net": 6000 - settled_fee,
        "balance": -6000,
    }
    assert balance_of(served, "clearing:sandbox") == -6000  # a report posts nothing

    posted = post(served, boss, "post-settlement-1")
    assert posted.status == 201, posted.body
    assert posted.body["already_posted"] is False
    assert posted.body["clearing_balance"] == 0
    assert balance_of(served, "clearing:sandbox") == 0
    assert balance_of(served, "expense:provider_fees:sandbox") == -settled_fee
    assert balance_of(served, "clearing:bank") == -(6000 - settled_fee)
    for kind in ("fee", "payout"):
        tx = served.call(
            "GET", f"/v1/ledger/transactions/{posted.body[f'{kind}_transaction_id']}", token=boss
        )
        assert tx.body["kind"] == f"provider_{kind}"
    again = post(served, boss, "post-settlement-1")
    assert again.headers.get("idempotent-replayed") == "true"
    other_key = post(served, boss, "post-settlement-2")
    assert other_key.status == 201, other_key.body
    assert other_key.body["already_posted"] is True
    assert other_key.body["fee_transaction_id"] == posted.body["fee_transaction_id"]
    assert balance_of(served, "clearing:bank") == -(6000 - settled_fee)  # posted once
    check = served.call("GET", "/v1/ledger/check", token=boss)
    assert check.body["ok"] is True, check.body

    # The provider's day goes on and its file changes: a posted settlement stands.
    kiosk.qr_top_up(sandbox, UNIT, "gas", 1000)
    changed = post(served, boss, "post-settlement-3")
    assert (changed.status, changed.code) == (409, "settlement_changed")
    assert "a posted settlement stands" in changed.body["error"]["message"]
    # The ledger movement the posted file settled is not claimed again by the new file.
    later = report(served, boss).body
    assert later["counts"]["matched"] == 4


def test_every_kind_of_difference_is_reported_with_what_to_do(
    served: Served, sandbox: Sandbox, kiosk: KioskSide, boss: str
) -> None:
    matched, _ = kiosk.qr_top_up(sandbox, UNIT, "electricity", 4000)
    # Paid at the provider, but the kiosk never heard: nothing reached the ledger.
    unheard = kiosk.order(UNIT, "electricity", 1500, notify_url=f"http://127.0.0.1:{free_port()}/")
    sandbox.post(f"/orders/{unheard}/pay")
    # The provider settles another amount than the kiosk was paid.
    mismatched = kiosk.order(UNIT, "water", 2500)
    sandbox.post(f"/orders/{mismatched}/pay", {"settle_amount": 2400})
    mismatched_tx = kiosk.credit_paid(mismatched)
    # A refund the provider made whose answer was lost, and that nobody sent again.
    sandbox.post("/control/lose-next-refund-answer")
    assert refund(served, boss, "lost-refund", matched, 1000).status == 503
    # Straight to the ledger, never through the provider: a top-up and a desk refund.
    by_hand = served.call(
        "POST",
        "/v1/ledger/top-ups",
        {
            "unit": UNIT,
            "wallet": "gas",
            "amount": 700,
            "currency": "CNY",
            "method": "provider",
            "source": "sandbox",
        },
        token=boss,
        key="by-hand-top-up",
    )
    assert by_hand.status == 201, by_hand.body
    r = report(served, boss).body
    assert r["reconciled"] is False
    status = {ln["reference"]: ln for ln in r["lines"]}
    assert status[unheard]["status"] == "missing_in_ledger"
    assert "never credited" in status[unheard]["explanation"]
    assert status[mismatched]["status"] == "amount_mismatch"
    assert (status[mismatched]["ledger_gross"], status[mismatched]["gross"]) == (2500, 2400)
    assert status[mismatched]["transaction_id"] == mismatched_tx
    lost = next(ln for ln in r["lines"] if ln["type"] == "refund")
    assert lost["status"] == "missing_in_ledger"
    assert "send POST /v1/payments/refunds again" in lost["explanation"]
    assert [(m["transaction_id"], m["status"]) for m in r["ledger_only"]] == [
        (by_hand.body["transaction_id"], "missing_in_settlement")
    ]
    assert r["counts"] == {
        "matched": 1,
        "amount_mismatch": 1,
        "missing_in_ledger": 2,
        "missing_in_settlement": 1,
        "settled_elsewhere": 0,
        "settled_twice": 0,
    }
    # The ledger: 40 + 25 + 7 owed; the provider: 40 + 15 + 24 - 10.
    assert (r["clearing"]["expected"], r["clearing"]["settled"]) == (7200, 6900)
    assert r["clearing"]["difference"] == -300

    # What the report said to do about the lost refund: send it again. It lands once.
    assert refund(served, boss, "lost-refund", matched, 1000).status == 201
    after = report(served, boss).body
    assert next(ln for ln in after["lines"] if ln["type"] == "refund")["status"] == "matched"
    assert after["counts"]["missing_in_ledger"] == 1


def test_who_may_see_and_post_a_settlement(served: Served, sandbox: Sandbox, boss: str) -> None:
    auditor = token_for(served.db, "auditor")
    assert report(served, auditor).status == 200
    assert (post(served, auditor, "aud").status, post(served, auditor, "aud").code) == (
        403,
        "role_not_allowed",
    )
    assert report(served, token_for(served.db, "cashier")).code == "role_not_allowed"
    assert served.call("GET", "/v1/payments/settlements/2999-01-01", token=boss).code == (
        "settlement_not_ready"
    )


def run_cli(db_url: str, *args: str, secret: bytes = SECRET) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PREPAID_DATABASE_URL": db_url,
        "PREPAID_LOG_LEVEL": "WARNING",
        "PREPAID_PROVIDER_SECRET_HEX": secret.hex(),
        "PREPAID_PROVIDER_NAME": "sandbox",
    }
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "central", "payments", "reconcile", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_command_reconciles_a_saved_file_refuses_an_edited_one_and_posts_once(
    served: Served, sandbox: Sandbox, kiosk: KioskSide, db_url: str, tmp_path: Path
) -> None:
    kiosk.qr_top_up(sandbox, UNIT, "electricity", 5000)
    raw = ProviderApi(sandbox.url, SECRET).settlement_file(today())
    saved = tmp_path / "settlement.csv"
    saved.write_bytes(raw)
    day = today().isoformat()
    seen = run_cli(db_url, "--date", day, "--file", str(saved))
    assert seen.returncode == 0, seen.stderr
    assert "1 matched" in seen.stdout
    assert "the ledger expects 50.00 CNY, the provider settled 50.00 CNY" in seen.stdout

    edited = tmp_path / "edited.csv"
    edited.write_bytes(raw.replace(b",5000,30,4970", b",9000,30,8970"))
    refused = run_cli(db_url, "--date", day, "--file", str(edited))
    assert refused.returncode == 1
    assert "signature does not match" in refused.stderr
    wrong_secret = run_cli(db_url, "--date", day, "--file", str(saved), secret=b"other")
    assert wrong_secret.returncode == 1
    assert "signature does not match" in wrong_secret.stderr
    other_day = run_cli(db_url, "--date", "2020-01-01", "--file", str(saved))
    assert other_day.returncode == 1
    assert "settlement_day_mismatch" in other_day.stderr

    posted = run_cli(db_url, "--date", day, "--file", str(saved), "--post")
    assert posted.returncode == 0, posted.stderr
    assert "posted: fee 0.30 CNY" in posted.stdout
    again = run_cli(db_url, "--date", day, "--file", str(saved), "--post")
    assert again.returncode == 0, again.stderr
    assert "posted before" in again.stdout
    assert balance_of(served, "clearing:sandbox") == 0
    assert balance_of(served, "clearing:bank") == -4970

    # A day with a difference exits 3, so a cron job can tell.
    kiosk.order(UNIT, "water", 800, notify_url=f"http://127.0.0.1:{free_port()}/")
    unheard = kiosk.order(UNIT, "water", 800, notify_url=f"http://127.0.0.1:{free_port()}/")
    sandbox.post(f"/orders/{unheard}/pay")
    fetched = subprocess.run(
        [sys.executable, "-m", "cli.main", "central", "payments", "reconcile", "--date", day,
         "--fetch"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PREPAID_DATABASE_URL": db_url, "PREPAID_LOG_LEVEL": "WARNING",
             "PREPAID_PROVIDER_URL": sandbox.url, "PREPAID_PROVIDER_SECRET_HEX": SECRET.hex()},
    )  # fmt: skip
    assert fetched.returncode == 3, fetched.stderr
    assert f"payment {unheard} 8.00 CNY: missing_in_ledger" in fetched.stdout
