"""A kiosk's pulled cash box, from its signed journal to the back office's count.

The kiosk side is the real kiosk journal (``kiosk.journal.KioskJournal``): cash
sessions with their notes, then ``collect_cash``; it is uploaded by the real sync
client with the kiosk's signatures to the server's journal endpoint. The count
goes through ``POST /v1/cash/collections/{id}/count`` and ``prepaid central cash``.

Signs are the ledger's: a box holding E reads -E on ``cash_box:<kiosk>``; the
count moves it back to zero, puts -C on ``clearing:bank`` and C - E on
``variance:cash`` (short: negative, a debit).
"""

from __future__ import annotations

import itertools
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, func, select

from central.cash import service, unapplied
from central.cash.tables import cash_collections
from central.db.database import Database
from central.db.schema import accounts, audit_log, postings, transactions
from central.ledger import operations as ops
from central.ledger.check import check
from central.ledger.plans import Context
from kiosk.journal import KioskJournal
from offline_queue.client import SignedClient
from offline_queue.errors import SyncError
from offline_queue.identity import Identity
from offline_queue.sync import SyncClient, SyncResult
from tests.central.conftest import ESTATE, MANAGER_PASSWORD, token_for
from tests.offline_queue import support

UNIT = "A-0101"


class Kiosk:
    """An enrolled kiosk's journal, uploading to the in-process server."""

    def __init__(self, client: TestClient, db: Database, path: Path) -> None:
        self.identity: Identity = support.enrol(db)
        self.id = self.identity.terminal_id
        self.journal = KioskJournal(path, self.identity)
        self.network = support.Network(client)

    def cash(self, *notes: int, device: str = "bill_acceptor", unit: str = UNIT) -> int:
        """One cash session: the notes stacked, then its top-up; the top-up's seq."""
        session = secrets.token_hex(8)
        self.journal.append(
            "cash_open", {"unit": unit, "wallet": "electricity", "card": ""}, session=session
        )
        for note in notes:
            self.journal.append("cash_in", {"amount": note, "device": device}, session=session)
        return self.journal.record_top_up(
            unit=unit,
            wallet="electricity",
            amount=sum(notes),
            currency="CNY",
            method="cash",
            session=session,
            detail={"notes_and_coins": list(notes)},
        ).seq

    def sync(self) -> SyncResult:
        client = SignedClient(self.identity, self.network)
        return SyncClient(self.journal.signed, client).sync_once()

    def close(self) -> None:
        self.journal.close()


@pytest.fixture
def kiosk(client: TestClient, db: Database, tmp_path: Path) -> Iterator[Kiosk]:
    side = Kiosk(client, db, tmp_path / "kiosk.sqlite3")
    yield side
    side.close()


def balance(db: Database, code: str) -> int:
    with db.read() as conn:
        found = conn.execute(select(accounts.c.balance).where(accounts.c.code == code)).first()
    return 0 if found is None else int(found.balance)


def legs_of(db: Database, transaction_id: str) -> dict[str, int]:
    with db.read() as conn:
        rows = conn.execute(
            select(accounts.c.code, postings.c.amount)
            .join(accounts, accounts.c.id == postings.c.account_id)
            .where(postings.c.transaction_id == transaction_id)
        ).all()
    return {r.code: int(r.amount) for r in rows}


def collections(client: TestClient, manager: dict[str, str], **params: str) -> list[Any]:
    answer = client.get("/v1/cash/collections", params=params, headers=manager)
    assert answer.status_code == 200, answer.text
    found: list[Any] = answer.json()
    return found


def count(
    client: TestClient, manager: dict[str, str], collection_id: int, body: Any, key: str
) -> Any:
    return client.post(
        f"/v1/cash/collections/{collection_id}/count",
        json=body,
        headers={**manager, "Idempotency-Key": key},
    )


def books_balance(db: Database) -> None:
    with db.read() as conn:
        report = check(conn)
    assert report.ok, report.problems


def test_a_pulled_cash_box_is_recorded_once_and_an_exact_count_empties_it(
    client: TestClient, db: Database, manager: dict[str, str], kiosk: Kiosk
) -> None:
    kiosk.cash(10000, 10000, 5000)
    kiosk.cash(2000)
    seq, counted = kiosk.journal.collect_cash()
    assert counted == {10000: 2, 5000: 1, 2000: 1}
    kiosk.network.lose_answers = 1  # the server applies the batch, the kiosk never hears
    with pytest.raises(SyncError):
        kiosk.sync()
    again = kiosk.sync()  # so it sends the same batch again: every entry a duplicate
    assert (again.sent, again.duplicate, again.rejected) == (seq, seq, 0)
    assert kiosk.journal.signed.rejections() == []

    found = collections(client, manager)
    assert len(found) == 1
    c = found[0]
    assert (c["terminal_id"], c["device"], c["period"], c["seq"]) == (
        kiosk.id,
        "bill_acceptor",
        1,
        seq,
    )
    assert c["expected"] == {"counts": {"2000": 1, "5000": 1, "10000": 2}, "total": 27000}
    assert (c["status"], c["counted"], c["variance"], c["transaction_id"]) == (
        "open",
        None,
        None,
        None,
    )
    assert collections(client, manager, status="counted") == []
    assert collections(client, manager, terminal="kiosk-other") == []
    assert balance(db, f"cash_box:{kiosk.id}") == -27000

    body = {"counts": {"10000": 2, "5000": 1, "2000": 1}}
    answer = count(client, manager, c["id"], body, "count-1")
    assert answer.status_code == 201, answer.text
    done = answer.json()
    assert (done["status"], done["variance"], done["result"]) == ("counted", 0, "exact")
    assert done["counted"]["counts"] == {"2000": 1, "5000": 1, "10000": 2}
    assert done["counted"]["by"] == "staff:boss"
    assert done["variance_by_denomination"] == {}
    # No variance: the cash box is empty and the bank holds the deposit, nothing else.
    assert legs_of(db, done["transaction_id"]) == {
        f"cash_box:{kiosk.id}": 27000,
        "clearing:bank": -27000,
    }
    assert balance(db, f"cash_box:{kiosk.id}") == 0
    assert balance(db, "clearing:bank") == -27000
    with db.read() as conn:  # an exact count opens no variance account
        assert (
            conn.execute(select(accounts.c.id).where(accounts.c.code == "variance:cash")).first()
            is None
        )

    same = count(client, manager, c["id"], body, "count-1")
    assert (same.status_code, same.json()) == (201, done)
    assert same.headers["Idempotent-Replayed"] == "true"
    second = count(client, manager, c["id"], {"total": 1}, "count-2")
    assert second.status_code == 409, second.text
    assert second.json()["error"]["code"] == "already_counted"
    assert "27000" not in second.json()["error"]["message"]  # said in money, not minor units
    assert "270.00 CNY, exact" in second.json()["error"]["message"]
    assert second.json()["collection"] == done
    assert client.get(f"/v1/cash/collections/{c['id']}", headers=manager).json() == done
    assert collections(client, manager, status="open") == []
    with db.read() as conn:
        posted = conn.execute(
            select(func.count())
            .select_from(transactions)
            .where(transactions.c.idempotency_key == service.ledger_key(c["id"]))
        ).scalar_one()
        audited = conn.execute(
            select(audit_log.c.actor).where(
                audit_log.c.action == "cash_count",
                audit_log.c.subject == f"cash_collection:{c['id']}",
            )
        ).all()
    assert posted == 1
    assert [a.actor for a in audited] == ["staff:boss"]  # the count, once; no refusal
    books_balance(db)


def test_short_and_over_go_to_cash_variance_and_the_box_ends_at_zero(
    client: TestClient, db: Database, manager: dict[str, str], kiosk: Kiosk
) -> None:
    kiosk.cash(10000, 5000, 2000)
    kiosk.journal.collect_cash()
    kiosk.cash(10000, 10000)
    kiosk.journal.collect_cash()
    kiosk.cash(500, device="coin_acceptor")
    kiosk.journal.collect_cash("coin_acceptor")
    result = kiosk.sync()
    assert (result.applied, result.rejected) == (kiosk.journal.signed.head(), 0)
    first, second, coins = sorted(collections(client, manager), key=lambda c: c["seq"])
    assert [c["period"] for c in (first, second, coins)] == [1, 2, 1]
    assert coins["device"] == "coin_acceptor"
    assert balance(db, f"cash_box:{kiosk.id}") == -(17000 + 20000 + 500)

    short = count(client, manager, first["id"], {"total": 15000}, "short")
    assert short.status_code == 201, short.text
    s = short.json()
    assert (s["variance"], s["result"], s["variance_account"]) == (-2000, "short", "variance:cash")
    assert s["counted"]["counts"] is None
    assert s["variance_by_denomination"] is None
    assert legs_of(db, s["transaction_id"]) == {
        f"cash_box:{kiosk.id}": 17000,
        "clearing:bank": -15000,
        "variance:cash": -2000,  # short: the variance account is debited
    }
    assert balance(db, "variance:cash") == -2000

    over = count(
        client, manager, second["id"], {"counts": {"10000": 2, "5000": 1, "100": 0}}, "over"
    )
    assert over.status_code == 201, over.text
    o = over.json()
    assert (o["variance"], o["result"]) == (5000, "over")
    assert o["variance_by_denomination"] == {"5000": 1}
    assert legs_of(db, o["transaction_id"]) == {
        f"cash_box:{kiosk.id}": 20000,
        "clearing:bank": -25000,
        "variance:cash": 5000,  # over: credited
    }
    empty = count(client, manager, coins["id"], {"counts": {}}, "coins")
    assert empty.status_code == 201, empty.text
    assert legs_of(db, empty.json()["transaction_id"]) == {
        f"cash_box:{kiosk.id}": 500,
        "variance:cash": -500,  # nothing reached the bank
    }
    assert balance(db, f"cash_box:{kiosk.id}") == 0
    assert balance(db, "clearing:bank") == -40000
    assert balance(db, "variance:cash") == -2000 + 5000 - 500
    books_balance(db)


def test_only_a_manager_counts_and_a_count_must_be_a_count(
    client: TestClient, db: Database, manager: dict[str, str], kiosk: Kiosk
) -> None:
    kiosk.cash(10000)
    kiosk.journal.collect_cash()
    kiosk.sync()
    (c,) = collections(client, manager)
    for role in ("cashier", "technician", "auditor"):
        other = {"Authorization": f"Bearer {token_for(db, role)}"}
        refused = count(client, other, c["id"], {"total": 10000}, f"by-{role}")
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "role_not_allowed"
    auditor = {"Authorization": f"Bearer {token_for(db, 'auditor')}"}
    assert client.get(f"/v1/cash/collections/{c['id']}", headers=auditor).status_code == 200
    cashier = {"Authorization": f"Bearer {token_for(db, 'cashier')}"}
    assert client.get("/v1/cash/collections", headers=cashier).status_code == 403

    no_key = client.post(
        f"/v1/cash/collections/{c['id']}/count", json={"total": 10000}, headers=manager
    )
    assert (no_key.status_code, no_key.json()["error"]["code"]) == (
        422,
        "idempotency_key_missing",
    )
    bad = {
        "negative pieces": ({"counts": {"10000": -1}}, "invalid_count", "from 0"),
        "not a denomination": ({"counts": {"ten": 1}}, "invalid_count", "'ten' is not a denom"),
        "zero denomination": ({"counts": {"0": 1}}, "invalid_count", "positive whole number"),
        "negative total": ({"total": -5}, "invalid_count", "not -5"),
        "neither": ({}, "invalid_count", "not neither"),
        "both": ({"counts": {"100": 1}, "total": 100}, "invalid_count", "not both"),
        "a string": ({"total": "100"}, "malformed_request", "total"),
        "a fraction": ({"counts": {"100": 1.5}}, "malformed_request", "counts"),
    }
    for what, (body, code, said) in bad.items():
        answer = count(client, manager, c["id"], body, f"bad-{what}")
        assert answer.status_code == 422, (what, answer.text)
        assert answer.json()["error"]["code"] == code, what
        assert said in answer.json()["error"]["message"], (what, answer.json())
    unknown = count(client, manager, 999999, {"total": 1}, "unknown")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_collection")
    assert client.get("/v1/cash/collections/999999", headers=manager).status_code == 404
    assert balance(db, f"cash_box:{kiosk.id}") == -10000  # nothing was posted
    assert collections(client, manager)[0]["status"] == "open"


def test_a_malformed_collection_is_rejected_and_the_rest_of_the_batch_applies(
    client: TestClient, db: Database, manager: dict[str, str], kiosk: Kiosk
) -> None:
    good = {"device": "bill_acceptor", "period": 1, "counts": {"5000": 2}, "total": 10000}
    bad: dict[str, tuple[dict[str, Any], str]] = {
        "counts a list": ({**good, "counts": [5000, 5000]}, "malformed_entry"),
        "zero denomination": ({**good, "counts": {"0": 2}, "total": 0}, "malformed_entry"),
        "negative pieces": ({**good, "counts": {"5000": -2}, "total": -10000}, "malformed_entry"),
        "a bool for pieces": ({**good, "counts": {"5000": True}, "total": 5000}, "malformed_entry"),
        "total off": ({**good, "total": 9000}, "malformed_entry"),
        "no device": ({k: v for k, v in good.items() if k != "device"}, "malformed_entry"),
        "period 0": ({**good, "period": 0}, "malformed_entry"),
        "other currency": ({**good, "currency": "USD"}, "currency_mismatch"),
    }
    top_up = kiosk.cash(5000, 5000)
    seqs = {
        what: kiosk.journal.signed.append("cash_collected", {"currency": "CNY", **body}).seq
        for what, (body, _) in bad.items()
    }
    recorded = kiosk.journal.signed.append("cash_collected", {**good, "currency": "CNY"}).seq
    repeated = kiosk.journal.signed.append("cash_collected", {**good, "currency": "CNY"}).seq
    after = kiosk.cash(2000)
    result = kiosk.sync()
    assert result.ok
    assert result.rejected == len(bad) + 1
    codes = {r["seq"]: (r["code"], r["message"]) for r in kiosk.journal.signed.rejections()}
    for what, (_, code) in bad.items():
        assert codes[seqs[what]][0] == code, what
    assert "total (9000) must be the sum of its counts (10000)" in codes[seqs["total off"]][1]
    assert "'0' is not a denomination" in codes[seqs["zero denomination"]][1]
    assert codes[repeated][0] == "period_already_collected"
    assert f"journal entry {recorded}" in codes[repeated][1]
    assert support.ledger_count(db, kiosk.id) == {top_up: 1, after: 1}
    (c,) = collections(client, manager)
    assert (c["seq"], c["expected"]["total"]) == (recorded, 10000)
    assert balance(db, f"cash_box:{kiosk.id}") == -12000


# -- property: whatever the two counts, the count's transaction is right -----------------
counts_strategy = st.dictionaries(
    st.sampled_from([100, 500, 1000, 2000, 5000, 10000]), st.integers(0, 40), max_size=6
)


def boxed_collection(conn: Connection, terminal: str, device: str, expected: dict[int, int]) -> int:
    """A kiosk's cash top-up of these pieces and the pulled box's collection of them."""
    total = sum(d * n for d, n in expected.items())
    if total:
        ops.top_up(
            conn,
            Context(ESTATE, f"{terminal}:cash", f"terminal:{terminal}", terminal_id=terminal),
            unit=UNIT,
            purpose="electricity",
            amount=total,
            currency="CNY",
            method="cash",
            source=terminal,
        )
    return service.record_collection(
        conn,
        terminal_id=terminal,
        seq=7,
        body={
            "device": device,
            "period": 1,
            "counts": service.wire_counts(expected),
            "total": total,
            "currency": "CNY",
        },
        collected_at=Context(ESTATE, "", "").now,
        currency="CNY",
    )


_terminals = itertools.count(1)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    expected=counts_strategy,
    counted=st.one_of(counts_strategy, st.integers(0, 10**6)),
)
def test_a_count_relieves_the_box_of_exactly_the_kiosks_count(
    db: Database, expected: dict[int, int], counted: dict[int, int] | int
) -> None:
    terminal = f"kiosk-p{next(_terminals)}"
    expected_total = sum(d * n for d, n in expected.items())
    codes = (f"cash_box:{terminal}", "clearing:bank", "variance:cash")
    with db.write() as conn:
        collection_id = boxed_collection(conn, terminal, "bill_acceptor", expected)
    before = {code: balance(db, code) for code in codes}
    given_count = (
        service.parse_count(total=counted)
        if isinstance(counted, int)
        else service.parse_count(counts=service.wire_counts(counted))
    )
    with db.write() as conn:
        done = service.count_collection(
            conn, Context(ESTATE, "k", "staff:boss"), collection_id, given_count
        )
    change = {code: balance(db, code) - before[code] for code in codes}
    c = given_count.total
    assert change == {
        f"cash_box:{terminal}": expected_total,  # the box relieved of exactly what it held
        "clearing:bank": -c,
        "variance:cash": c - expected_total,
    }
    assert sum(change.values()) == 0
    assert balance(db, f"cash_box:{terminal}") == 0
    assert done["variance"] == c - expected_total
    if done["transaction_id"] is None:
        assert expected_total == c == 0
    else:
        legs = legs_of(db, done["transaction_id"])
        assert sum(legs.values()) == 0
        assert 0 not in legs.values()
    with db.write() as conn, pytest.raises(service.AlreadyCounted):  # never posts twice
        service.count_collection(
            conn, Context(ESTATE, "k2", "staff:boss"), collection_id, given_count
        )
    with db.read() as conn:
        assert (
            conn.execute(
                select(cash_collections.c.status).where(cash_collections.c.id == collection_id)
            ).scalar_one()
            == "counted"
        )
    books_balance(db)


# -- the command, as the back office runs it --------------------------------------------
def run_cli(
    db_url: str, *args: str, password: str | None = MANAGER_PASSWORD
) -> subprocess.CompletedProcess[str]:
    """The command in its own process, its standard input not a terminal; the staff
    password (for the commands that move money) comes from the environment."""
    env = {**os.environ, "PREPAID_DATABASE_URL": db_url, "PREPAID_LOG_LEVEL": "WARNING"}
    env.pop("PREPAID_STAFF_PASSWORD", None)
    if password is not None:
        env["PREPAID_STAFF_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "central", "cash", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_command_lists_counts_once_and_says_the_variance(
    client: TestClient, db: Database, db_url: str, manager: dict[str, str], kiosk: Kiosk
) -> None:
    kiosk.cash(10000, 10000, 5000)
    kiosk.journal.collect_cash()
    kiosk.cash(2000)
    kiosk.journal.collect_cash()
    kiosk.sync()
    first, second = sorted(collections(client, manager), key=lambda c: c["seq"])

    listed = run_cli(db_url, "collections", "--open")
    assert listed.returncode == 0, listed.stderr
    assert kiosk.id in listed.stdout
    assert "250.00 CNY" in listed.stdout
    assert "2 to count: prepaid central cash count ID" in listed.stdout

    short = run_cli(db_url, "count", str(first["id"]), "--counts", "10000=2,5000=0", "--by", "boss")
    assert short.returncode == 0, short.stderr
    assert "short by 50.00 CNY, posted to variance:cash" in short.stdout
    assert "200.00 CNY to clearing:bank" in short.stdout
    with db.read() as conn:
        audited = conn.execute(
            select(audit_log).where(audit_log.c.subject == f"cash_collection:{first['id']}")
        ).all()
    assert [(a.actor, a.role, a.action, a.remote) for a in audited] == [
        ("staff:boss", "manager", "cash_count", "console")
    ]
    again = run_cli(db_url, "count", str(first["id"]), "--total", "25000", "--by", "boss")
    assert again.returncode == 1
    assert "already_counted" in again.stderr
    assert "counted by staff:boss" in again.stderr
    garbage = run_cli(db_url, "count", str(second["id"]), "--counts", "10000=x", "--by", "boss")
    assert garbage.returncode == 1
    assert "invalid_count" in garbage.stderr
    assert "DENOMINATION=PIECES" in garbage.stderr
    unknown = run_cli(db_url, "count", "999999", "--total", "1", "--by", "boss")
    assert unknown.returncode == 1
    assert "unknown_collection" in unknown.stderr
    neither = run_cli(db_url, "count", str(second["id"]), "--by", "boss")
    assert neither.returncode == 2
    assert "--counts" in neither.stderr
    # The count is made in a manager's name, proved by their password.
    nobody = run_cli(db_url, "count", str(second["id"]), "--total", "2000")
    assert nobody.returncode == 2
    assert "--by" in nobody.stderr
    for who, password, code in (
        ("boss", "not the password", "bad_credentials"),
        ("li", MANAGER_PASSWORD, "bad_credentials"),  # no such staff member
        ("cashier", MANAGER_PASSWORD, "forbidden_role"),
        ("boss", None, "password_needed"),  # not at a terminal and no PREPAID_STAFF_PASSWORD
    ):
        refused = run_cli(
            db_url, "count", str(second["id"]), "--total", "2000", "--by", who, password=password
        )
        assert refused.returncode == 1, (who, refused.stdout)
        assert code in refused.stderr, refused.stderr
        assert "not the password" not in refused.stderr + refused.stdout

    exact = run_cli(db_url, "count", str(second["id"]), "--total", "2000", "--by", "boss", "--json")
    assert exact.returncode == 0, exact.stderr
    assert '"result": "exact"' in exact.stdout
    assert run_cli(db_url, "collections", "--open").stdout.strip() == "no open cash collections"
    assert "short by 50.00 CNY" in run_cli(db_url, "collections").stdout
    assert balance(db, f"cash_box:{kiosk.id}") == 0
    assert balance(db, "variance:cash") == -5000
    books_balance(db)


# -- cash taken for a top-up the ledger refused ------------------------------------------
def unapplied_list(client: TestClient, headers: dict[str, str], **params: str) -> list[Any]:
    answer = client.get("/v1/cash/unapplied", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    found: list[Any] = answer.json()
    return found


def credit(
    client: TestClient, headers: dict[str, str], terminal: str, seq: int, body: Any, key: str
) -> Any:
    return client.post(
        f"/v1/cash/unapplied/{terminal}/{seq}/credit",
        json=body,
        headers={**headers, "Idempotency-Key": key},
    )


def test_cash_for_a_refused_top_up_is_listed_and_credited_once_from_the_box(
    client: TestClient, db: Database, db_url: str, manager: dict[str, str], kiosk: Kiosk
) -> None:
    kiosk.cash(10000, 5000)
    # The kiosk named a unit the server does not have (its offline snapshot was
    # stale): the top-up is refused, the 20.00 note is in the box all the same.
    refused_seq = kiosk.cash(2000, unit="Z-9999")
    kiosk.journal.collect_cash()
    result = kiosk.sync()
    assert result.rejected == 1
    wallet = f"wallet:{UNIT}:electricity"
    before = balance(db, wallet)
    assert balance(db, f"cash_box:{kiosk.id}") == -15000  # only what the ledger took in

    (u,) = unapplied_list(client, manager)
    assert (u["terminal_id"], u["seq"], u["amount"], u["currency"]) == (
        kiosk.id,
        refused_seq,
        2000,
        "CNY",
    )
    assert (u["unit"], u["wallet"], u["refused"]["code"]) == (
        "Z-9999",
        "electricity",
        "unknown_unit",
    )
    assert u["credited"] is None
    auditor = {"Authorization": f"Bearer {token_for(db, 'auditor')}"}
    assert unapplied_list(client, auditor, open="true") == [u]
    day = datetime.fromisoformat(u["received_at"]).astimezone(ESTATE.zone).date()
    report = client.get(
        f"/v1/terminals/{kiosk.id}/journal/report",
        params={"day": day.isoformat()},
        headers=manager,
    )
    assert report.status_code == 200, report.text
    (said,) = [d for d in report.json()["differences"] if d.get("seq") == refused_seq]
    assert f"prepaid central cash credit {kiosk.id} {refused_seq}" in said["explanation"]

    # The count relieves the box of the kiosk's count, the refused note with it:
    # the box account is left holding what no wallet got.
    (c,) = collections(client, manager)
    assert c["expected"]["total"] == 17000
    assert count(client, manager, c["id"], {"total": 17000}, "count").status_code == 201
    assert balance(db, f"cash_box:{kiosk.id}") == 2000

    for role in ("cashier", "auditor", "technician"):
        other = {"Authorization": f"Bearer {token_for(db, role)}"}
        no = credit(
            client, other, kiosk.id, refused_seq, {"unit": UNIT, "wallet": "electricity"}, role
        )
        assert no.status_code == 403, no.text
    wrong_wallet = credit(
        client, manager, kiosk.id, refused_seq, {"unit": "Z-9999", "wallet": "electricity"}, "w"
    )
    assert (wrong_wallet.status_code, wrong_wallet.json()["error"]["code"]) == (
        404,
        "unknown_unit",
    )
    applied_seq = refused_seq - 2  # the first session's top-up, applied
    not_refused = credit(
        client, manager, kiosk.id, applied_seq, {"unit": UNIT, "wallet": "electricity"}, "n"
    )
    assert (not_refused.status_code, not_refused.json()["error"]["code"]) == (
        404,
        "unknown_unapplied",
    )
    assert balance(db, f"cash_box:{kiosk.id}") == 2000  # nothing moved

    body = {"unit": UNIT, "wallet": "electricity"}
    answer = credit(client, manager, kiosk.id, refused_seq, body, "credit-1")
    assert answer.status_code == 201, answer.text
    done = answer.json()
    assert done["credited"]["by"] == "staff:boss"
    assert legs_of(db, done["credited"]["transaction_id"]) == {
        f"cash_box:{kiosk.id}": -2000,
        wallet: 2000,
    }
    assert balance(db, f"cash_box:{kiosk.id}") == 0
    assert balance(db, wallet) == before + 2000
    same = credit(client, manager, kiosk.id, refused_seq, body, "credit-1")
    assert (same.status_code, same.json()) == (201, done)
    twice = credit(client, manager, kiosk.id, refused_seq, body, "credit-2")
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "already_credited")
    assert unapplied_list(client, manager, open="true") == []
    assert unapplied_list(client, manager)[0]["credited"] == done["credited"]

    listed = run_cli(db_url, "unapplied")
    assert listed.returncode == 0, listed.stderr
    assert f"credited ({done['credited']['transaction_id']})" in listed.stdout
    again = run_cli(
        db_url,
        "credit",
        kiosk.id,
        str(refused_seq),
        "--unit",
        UNIT,
        "--wallet",
        "electricity",
        "--by",
        "boss",
    )
    assert again.returncode == 1
    assert "already_credited" in again.stderr
    assert run_cli(db_url, "unapplied", "--open").stdout.strip() == "no refused cash top-ups"
    with db.read() as conn:
        assert len(unapplied.list_unapplied(conn, terminal="kiosk-other")) == 0
    books_balance(db)


def test_the_command_credits_a_refused_cash_top_up(
    client: TestClient, db: Database, db_url: str, kiosk: Kiosk
) -> None:
    seq = kiosk.cash(5000, unit="Z-9999")
    kiosk.sync()
    listed = run_cli(db_url, "unapplied", "--open")
    assert listed.returncode == 0, listed.stderr
    assert "50.00 CNY" in listed.stdout
    assert "unknown_unit" in listed.stdout
    assert "1 to credit: prepaid central cash credit" in listed.stdout
    done = run_cli(
        db_url,
        "credit",
        kiosk.id,
        str(seq),
        "--unit",
        UNIT,
        "--wallet",
        "electricity",
        "--by",
        "boss",
    )
    assert done.returncode == 0, done.stderr
    assert f"50.00 CNY of {kiosk.id}'s entry {seq} credited to {UNIT} electricity" in done.stdout
    assert balance(db, f"cash_box:{kiosk.id}") == -5000  # the box, not yet counted, holds it
    unknown = run_cli(
        db_url, "credit", kiosk.id, "999", "--unit", UNIT, "--wallet", "electricity", "--by", "boss"
    )
    assert unknown.returncode == 1
    assert "unknown_unapplied" in unknown.stderr
    books_balance(db)
