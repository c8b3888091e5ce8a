"""Property fees and the maintenance fund, through the API and the daily job.

The test estate: units A-0101, A-0102, A-0201 (88.50 m2 flats) and B-0101
(120 m2), in Shanghai, in CNY.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, select

from central.api.app import create_app
from central.auth.principal import Principal, Role
from central.db.database import Database
from central.db.schema import accounts
from central.estate import registry
from central.estate.settings import load
from central.fees import arrears
from central.fees.cli import verify
from central.fees.tables import fee_reminders
from central.metering.tables import notifications
from central.settings import Settings
from tests.central.conftest import token_for

KIOSK = "kiosk-01"


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T04:00:00+00:00")  # noon in Shanghai


def kiosk_verifier(
    conn: Connection, *, method: str, path: str, headers: Mapping[str, str], body: bytes
) -> Principal:
    """Stands in for signature checking: the kiosk's requests are taken as signed."""
    return Principal(kind="terminal", id=KIOSK, role=Role.TERMINAL)


KIOSK_HEADERS = {"Signature": "sig1=:test:", "Signature-Input": "sig1=()"}


@pytest.fixture
def api(db: Database, db_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=db_url), db, terminal_verifier=kiosk_verifier)
    with TestClient(app) as client:
        yield client


def send(
    client: TestClient, method: str, path: str, headers: dict[str, str], key: str, body: Any
) -> dict[str, Any]:
    answer = client.request(method, path, headers={**headers, "Idempotency-Key": key}, json=body)
    assert answer.status_code in (200, 201), answer.text
    result: dict[str, Any] = answer.json()
    return result


def refused(
    client: TestClient, method: str, path: str, headers: dict[str, str], key: str, body: Any
) -> str:
    answer = client.request(method, path, headers={**headers, "Idempotency-Key": key}, json=body)
    assert answer.status_code >= 400, answer.text
    code: str = answer.json()["error"]["code"]
    return code


def move_in(db: Database, unit: str, day: str, out: str | None = None, phone: str = "") -> int:
    with db.write() as conn:
        rid = registry.add_resident(
            conn,
            unit=unit,
            name=f"Owner of {unit}",
            phone=phone or None,
            moved_in_at=datetime.fromisoformat(f"{day}T12:00:00+08:00"),
        )
        if out is not None:
            from sqlalchemy import update

            from central.db.schema import residents

            conn.execute(
                update(residents)
                .where(residents.c.id == rid)
                .values(moved_out_at=datetime.fromisoformat(f"{out}T12:00:00+08:00"))
            )
    return rid


def schedule(client: TestClient, manager: dict[str, str], kind: str, price: str) -> None:
    send(
        client,
        "POST",
        "/v1/fees/schedules",
        manager,
        f"sched-{kind}-{price}",
        {"unit_kind": kind, "per_m2_month": price, "effective_from": "2025-01-01"},
    )


def balance(db: Database, code: str) -> int:
    with db.read() as conn:
        return int(
            conn.execute(select(accounts.c.balance).where(accounts.c.code == code)).scalar_one()
        )


def daily(db: Database, day: str) -> dict[str, Any]:
    with db.write() as conn:
        return arrears.daily(conn, load(conn), at(day))


def test_billing_run_prorates_and_wallets_pay_when_due(
    api: TestClient, db: Database, manager: dict[str, str]
) -> None:
    schedule(api, manager, "flat", "2.00")
    move_in(db, "A-0101", "2024-06-01")  # the whole quarter
    move_in(db, "A-0102", "2026-02-15")  # in mid-February
    move_in(db, "A-0201", "2023-01-01", out="2026-01-11")  # out mid-January
    # B-0101 is empty all quarter: no bill.
    run = send(
        api,
        "POST",
        "/v1/fees/runs",
        manager,
        "run-q1",
        {"period": "2026-Q1", "due_on": "2026-01-31"},
    )
    assert run["bills"] == 3
    bills = {
        unit: send_get(api, f"/v1/fees/units/{unit}/bills", manager)
        for unit in ("A-0101", "A-0102", "A-0201", "B-0101")
    }
    # 2.00 x 88.5 m2 = 177.00 a month.
    assert bills["A-0101"][0]["amount"] == 53100
    assert bills["A-0102"][0]["amount"] == 8850 + 17700  # 14/28 of February, all of March
    assert bills["A-0201"][0]["amount"] == 5710  # 177 x 10/31 = 57.096... -> 57.10
    assert bills["B-0101"] == []
    again = send(api, "POST", "/v1/fees/runs", manager, "run-q1-again", {"period": "2026-Q1"})
    assert (again["bills"], again["already_billed"]) == (0, 3)

    # A-0101's fee wallet holds enough, A-0102's does not.
    for unit, amount in (("A-0101", 60000), ("A-0102", 100)):
        send(
            api,
            "POST",
            "/v1/ledger/top-ups",
            manager,
            f"top-{unit}",
            {
                "unit": unit,
                "wallet": "property_fee",
                "amount": amount,
                "currency": "CNY",
                "method": "staff_desk",
            },
        )
    assert daily(db, "2026-01-30")["collected"] == []  # not due yet
    collected = daily(db, "2026-01-31")["collected"]
    assert [(c["unit"], c["amount"]) for c in collected] == [("A-0101", 53100)]
    assert balance(db, "wallet:A-0101:property_fee") == 60000 - 53100
    assert balance(db, "revenue:property_fee") == 53100
    assert send_get(api, "/v1/fees/units/A-0101/bills", manager) == []
    assert daily(db, "2026-02-01")["collected"] == []  # nothing is paid twice
    assert send_get(api, "/v1/fees/units/A-0102/bills", manager)[0]["status"] == "open"

    # A payment reversed: the money goes back and the bill is owed again, then the
    # next daily run takes it anew.
    paid_by = send_get(api, "/v1/fees/units/A-0101/bills?all_bills=true", manager)[0]
    with db.read() as conn:
        from central.fees.tables import bill_payments

        tid = conn.execute(
            select(bill_payments.c.transaction_id).where(
                bill_payments.c.bill_id == paid_by["bill_id"]
            )
        ).scalar_one()
    undone = send(
        api,
        "POST",
        f"/v1/fees/payments/{tid}/reversal",
        manager,
        "undo",
        {"reason": "taken twice"},
    )
    assert undone["bill"]["status"] == "open"
    assert undone["bill"]["outstanding"] == 53100
    assert balance(db, "wallet:A-0101:property_fee") == 60000
    assert [c["amount"] for c in daily(db, "2026-02-02")["collected"]] == [53100]
    assert balance(db, "revenue:property_fee") == 53100


def send_get(client: TestClient, path: str, headers: dict[str, str]) -> Any:
    answer = client.get(path, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_reminders_once_each_and_a_capped_late_fee(
    api: TestClient, db: Database, manager: dict[str, str]
) -> None:
    send(
        api,
        "PUT",
        "/v1/fees/settings",
        manager,
        "policy",
        {
            "remind_days_before": 5,
            "remind_days_after": 3,
            "late_fee_rate_per_month": "0.03",
            "late_fee_cap": "0.10",
        },
    )
    schedule(api, manager, "flat", "2.00")
    move_in(db, "A-0101", "2024-06-01", phone="+86 139 0000 0001")
    send(
        api, "POST", "/v1/fees/runs", manager, "run", {"period": "2026-Q1", "due_on": "2026-01-31"}
    )
    bill = send_get(api, "/v1/fees/units/A-0101/bills", manager)[0]
    assert bill["amount"] == 53100

    assert daily(db, "2026-01-25")["reminders"] == []  # too early
    assert [r["kind"] for r in daily(db, "2026-01-26")["reminders"]] == ["before"]
    assert daily(db, "2026-01-27")["reminders"] == []  # once
    assert daily(db, "2026-02-02")["reminders"] == []
    assert [r["kind"] for r in daily(db, "2026-02-03")["reminders"]] == ["after"]
    assert daily(db, "2026-02-20")["reminders"] == []
    # Each reminder went into the notification outbox (whose worker sends it): an SMS
    # to the owner's phone and a line in the in-app list.
    with db.read() as conn:
        kinds = conn.execute(select(fee_reminders.c.kind).order_by(fee_reminders.c.id))
        assert kinds.scalars().all() == ["before", "after"]
        outbox = conn.execute(
            select(notifications.c.kind, notifications.c.channel, notifications.c.subject)
            .where(notifications.c.kind.like("fee_%"))
            .order_by(notifications.c.id)
        ).all()
    assert [(n.kind, n.channel) for n in outbox] == [
        ("fee_before", "sms"),
        ("fee_before", "app"),
        ("fee_after", "sms"),
        ("fee_after", "app"),
    ]
    assert outbox[0].subject == "Your property fee is due on 2026-01-31"
    assert outbox[2].subject == "Your property fee is overdue"

    # 3% a month of 531.00, capped at 10%: 15.93, 31.86, 47.79, then 53.10 for ever.
    fees = []
    for day in ("2026-02-20", "2026-03-20", "2026-04-20", "2026-05-20", "2026-09-20", "2027-06-01"):
        daily(db, day)
        fees.append(send_get(api, f"/v1/fees/bills/{bill['bill_id']}", manager)["late_fee"])
    assert fees == [1593, 3186, 4779, 5310, 5310, 5310]

    # Paying the whole bill at the desk pays the late fee too, into its own revenue.
    paid = send(
        api,
        "POST",
        f"/v1/fees/bills/{bill['bill_id']}/payments",
        manager,
        "pay",
        {
            "what": "whole",
            "method": "staff_desk",
            "expected": 53100 + 5310,
        },
    )
    assert paid["bill"]["status"] == "paid"
    assert balance(db, "revenue:late_fee") == 5310
    assert balance(db, "revenue:property_fee") == 53100
    assert daily(db, "2027-07-01")["late_fees"] == []


def test_the_kiosk_pays_an_instalment_end_to_end(
    api: TestClient, db: Database, manager: dict[str, str]
) -> None:
    schedule(api, manager, "flat", "2.00")
    move_in(db, "A-0101", "2024-06-01")
    send(
        api, "POST", "/v1/fees/runs", manager, "run", {"period": "2026-Q1", "due_on": "2026-01-31"}
    )
    # The kiosk's overview: the unit's open bills.
    bills = send_get(api, "/v1/fees/units/A-0101/bills", KIOSK_HEADERS)
    assert [b["amount"] for b in bills] == [53100]
    bill_id = bills[0]["bill_id"]
    planned = send(
        api, "POST", f"/v1/fees/bills/{bill_id}/instalments", KIOSK_HEADERS, "plan", {"count": 3}
    )
    assert [i["amount"] for i in planned["instalments"]] == [17700, 17700, 17700]
    assert [i["due_on"] for i in planned["instalments"]] == [
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
    ]
    body = {
        "what": "next_instalment",
        "method": "cash",
        "source": KIOSK,
        "unit": "A-0101",
        "expected": 17700,
    }
    paid = send(api, "POST", f"/v1/fees/bills/{bill_id}/payments", KIOSK_HEADERS, "k1", body)
    receipt = paid["receipt"]
    assert receipt["instalment"] == {"seq": 1, "of": 3}
    assert (receipt["paid"], receipt["remaining"]) == (17700, 35400)
    assert receipt["paid_text"] == "177.00 CNY"
    assert receipt["terminal"] == KIOSK
    assert receipt["unit"] == "A-0101"
    assert balance(db, f"cash_box:{KIOSK}") == -17700  # the cash box holds the notes
    # A retry of the same request pays once.
    again = api.post(
        f"/v1/fees/bills/{bill_id}/payments",
        headers={**KIOSK_HEADERS, "Idempotency-Key": "k1"},
        json=body,
    )
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert balance(db, f"cash_box:{KIOSK}") == -17700
    # Another kiosk's cash box, another unit's bill, a stale amount: refused.
    pay = f"/v1/fees/bills/{bill_id}/payments"
    for key, change, code in (
        ("k2", {"source": "kiosk-02"}, "other_terminal"),  # another kiosk's cash box
        ("k3", {"unit": "A-0102"}, "unknown_bill"),  # another unit's card
        ("k4", {"expected": 53100}, "amount_changed"),  # not what the screen showed
        ("k6", {"method": "staff_desk"}, "invalid_method"),
    ):
        assert refused(api, "POST", pay, KIOSK_HEADERS, key, {**body, **change}) == code
    rest = send(
        api,
        "POST",
        f"/v1/fees/bills/{bill_id}/payments",
        KIOSK_HEADERS,
        "k5",
        {**body, "what": "whole", "expected": 35400},
    )
    assert rest["bill"]["status"] == "paid"
    assert all(i["paid"] for i in rest["bill"]["instalments"])
    assert balance(db, "revenue:property_fee") == 53100


def resident_headers(api: TestClient, db: Database, unit: str, phone: str) -> dict[str, str]:
    sent: list[str] = []

    class Codes:
        def send_code(self, *, phone: str, code: str, resident_id: int, language: str) -> None:
            sent.append(code)

    api.app.state.code_sender = Codes()  # type: ignore[attr-defined]
    move_in(db, unit, "2024-06-01", phone=phone)
    assert api.post("/v1/me/sign-in/code", json={"phone": phone}).status_code == 202
    token = api.post("/v1/me/sign-in/token", json={"phone": phone, "code": sent[-1]})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def test_the_fund_takes_contributions_and_pays_only_approved_projects(
    api: TestClient, db: Database, manager: dict[str, str], tmp_path: Path
) -> None:
    owner = resident_headers(api, db, "A-0101", "+8613900000002")
    cashier = {"Authorization": f"Bearer {token_for(db, 'cashier')}"}
    levy = send(
        api,
        "POST",
        "/v1/fund/buildings/A/contributions",
        manager,
        "levy",
        {
            "per_m2": "100",
            "reason": "purchase",
            "due_on": "2026-01-31",
        },
    )
    assert [b["amount"] for b in levy["bills"]] == [885000] * 3
    first, second = levy["bills"][0], levy["bills"][1]
    # The owner pays from the household's fund wallet; the desk takes another unit's.
    send(
        api,
        "POST",
        "/v1/ledger/top-ups",
        manager,
        "top",
        {
            "unit": "A-0101",
            "wallet": "maintenance_fund",
            "amount": 885000,
            "currency": "CNY",
            "method": "staff_desk",
        },
    )
    mine = send_get(api, "/v1/me/units/A-0101/bills", owner)
    assert [b["bill_id"] for b in mine] == [first["bill_id"]]
    send(
        api,
        "POST",
        f"/v1/me/units/A-0101/bills/{first['bill_id']}/payments",
        owner,
        "own",
        {"what": "whole"},
    )
    assert (
        refused(
            api,
            "POST",
            f"/v1/me/units/A-0101/bills/{second['bill_id']}/payments",
            owner,
            "other",
            {"what": "whole"},
        )
        == "not_found"
    )
    send(
        api,
        "POST",
        f"/v1/fees/bills/{second['bill_id']}/payments",
        cashier,
        "desk",
        {"method": "staff_desk"},
    )
    assert balance(db, "fund:maintenance:A") == 2 * 885000
    assert balance(db, "wallet:A-0101:maintenance_fund") == 0

    # A project without an approving vote cannot be paid.
    project = send(
        api,
        "POST",
        "/v1/fund/projects",
        manager,
        "p1",
        {"building": "A", "title": "Lift overhaul", "supplier": "Lift Co", "quote": 1_000_000},
    )
    invoice = send(
        api,
        "POST",
        f"/v1/fund/projects/{project['project_id']}/invoices",
        manager,
        "i1",
        {"number": "INV-1", "amount": 600_000},
    )
    pay = f"/v1/fund/invoices/{invoice['invoice_id']}/payments"
    assert refused(api, "POST", pay, manager, "pay-1", {}) == "project_not_approved"
    # 177 of 265.5 m2 is exactly two thirds, but 1 of 3 owners is not: rejected.
    rejected = send(
        api,
        "POST",
        f"/v1/fund/projects/{project['project_id']}/vote",
        manager,
        "v1",
        {"yes_area_m2": "177", "yes_owners": 1, "total_owners": 3},
    )
    assert rejected["status"] == "rejected"
    assert "owners" in rejected["vote"]["verdict"]
    assert refused(api, "POST", pay, manager, "pay-2", {}) == "project_not_approved"
    assert balance(db, "fund:maintenance:A") == 2 * 885000

    project = send(
        api,
        "POST",
        "/v1/fund/projects",
        manager,
        "p2",
        {"building": "A", "title": "Lift overhaul", "supplier": "Lift Co", "quote": 1_000_000},
    )
    approved = send(
        api,
        "POST",
        f"/v1/fund/projects/{project['project_id']}/vote",
        manager,
        "v2",
        {"yes_area_m2": "177", "yes_owners": 2, "total_owners": 3},
    )
    assert approved["status"] == "approved"
    invoice = send(
        api,
        "POST",
        f"/v1/fund/projects/{project['project_id']}/invoices",
        manager,
        "i2",
        {"number": "INV-1", "amount": 600_000},
    )
    statement_before = send_get(api, "/v1/me/units/A-0101/fund/statement", owner)
    paid = send(
        api,
        "POST",
        f"/v1/fund/invoices/{invoice['invoice_id']}/payments",
        manager,
        "pay-3",
        {"destination": "bank"},
    )
    assert paid["fund_balance"] == 2 * 885000 - 600_000
    over = send(
        api,
        "POST",
        f"/v1/fund/projects/{project['project_id']}/invoices",
        manager,
        "i3",
        {"number": "INV-2", "amount": 500_000},
    )
    assert (
        refused(
            api, "POST", f"/v1/fund/invoices/{over['invoice_id']}/payments", manager, "pay-4", {}
        )
        == "quote_exceeded"
    )

    # The statement every owner can fetch and check.
    statement = send_get(api, "/v1/me/units/A-0101/fund/statement", owner)
    assert (statement["count"], statement["contributions"], statement["spending"]) == (
        3,
        2 * 885000,
        600_000,
    )
    assert statement["balance"] == statement["ledger_balance"] == 1_170_000
    assert statement["contributions_by_unit"] == {"A-0101": 885000, "A-0102": 885000}
    assert send_get(api, "/v1/fund/buildings/A/statement", manager)["head"] == statement["head"]
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(statement_before))
    new.write_text(json.dumps(statement))
    assert verify(new, old) == 0
    # Someone rewrites the expenditure as smaller and re-hashes the chain's end.
    tampered = json.loads(json.dumps(statement))
    tampered["entries"][0]["amount"] = 1
    new.write_text(json.dumps(tampered))
    assert verify(new, None) == 1
    assert verify(new, old) == 1


def test_fee_routes_keep_other_households_out(
    api: TestClient, db: Database, manager: dict[str, str]
) -> None:
    owner = resident_headers(api, db, "A-0101", "+8613900000003")
    assert api.get("/v1/me/units/A-0102/bills", headers=owner).status_code == 404
    assert api.get("/v1/me/units/A-0102/fund/statement", headers=owner).status_code == 404
    assert api.get("/v1/fees/units/A-0101/bills", headers=owner).status_code == 403
    # The owner spreads their own bill over instalments; a neighbour's bill is not there.
    schedule(api, manager, "flat", "2.00")
    move_in(db, "A-0102", "2024-06-01")
    send(api, "POST", "/v1/fees/runs", manager, "run", {"period": "2026", "due_on": "2026-01-31"})
    mine = send_get(api, "/v1/me/units/A-0101/bills", owner)[0]
    theirs = send_get(api, "/v1/fees/units/A-0102/bills", manager)[0]
    assert mine["amount"] == 177 * 12 * 100
    plan = send(
        api,
        "POST",
        f"/v1/me/units/A-0101/bills/{mine['bill_id']}/instalments",
        owner,
        "mine",
        {"count": 4, "every_months": 3},
    )
    assert [i["due_on"] for i in plan["instalments"]][-1] == "2026-10-31"
    assert sum(i["amount"] for i in plan["instalments"]) == mine["amount"]
    path = f"/v1/me/units/A-0101/bills/{theirs['bill_id']}/instalments"
    assert refused(api, "POST", path, owner, "theirs", {"count": 2}) == "not_found"
    unpaid = send_get(api, "/v1/me/units/A-0101/bills", owner)[0]["next_instalment"]
    assert unpaid == {"seq": 1, "amount": mine["amount"] // 4}
