"""Correcting a cash count: a recount by a second person, kept beside the count.

The collection comes from the real kiosk journal, uploaded with its signatures
(``tests.central.test_cash_collections.Kiosk``); the count and the recount go
through ``POST /v1/cash/collections/{id}/count`` and ``.../recount`` and through
``prepaid central cash recount``. Signs are the ledger's: ``clearing:bank`` holding
the deposit C reads -C; ``variance:cash`` is counted - expected.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from central.auth.principal import Role
from central.auth.staff import create_staff
from central.cash import recount, service
from central.cash.tables import cash_recounts
from central.db.database import Database
from central.db.schema import audit_log, transactions
from central.errors import InvalidRequest
from central.ledger.plans import Context
from tests.central.conftest import ESTATE, MANAGER_PASSWORD, token_for
from tests.central.test_cash_collections import (
    Kiosk,
    balance,
    books_balance,
    boxed_collection,
    collections,
    count,
    legs_of,
    run_cli,
)


@pytest.fixture
def kiosk(client: TestClient, db: Database, tmp_path: Path) -> Iterator[Kiosk]:
    side = Kiosk(client, db, tmp_path / "kiosk.sqlite3")
    yield side
    side.close()


@pytest.fixture
def second_manager(db: Database) -> dict[str, str]:
    """Headers of another signed-in manager, the second pair of eyes."""
    with db.write() as conn:
        create_staff(conn, username="ann", password=MANAGER_PASSWORD, role=Role.MANAGER)
    return {"Authorization": f"Bearer {token_for(db, 'ann')}"}


def recount_of(
    client: TestClient, headers: dict[str, str], collection_id: int, body: Any, key: str
) -> Any:
    return client.post(
        f"/v1/cash/collections/{collection_id}/recount",
        json=body,
        headers={**headers, "Idempotency-Key": key},
    )


def counted_short(client: TestClient, manager: dict[str, str], kiosk: Kiosk) -> dict[str, Any]:
    """The kiosk stacks 100 + 100 + 50; the office counts only the two 100s."""
    kiosk.cash(10000, 10000, 5000)
    kiosk.journal.collect_cash()
    kiosk.sync()
    (c,) = collections(client, manager)
    answer = count(client, manager, c["id"], {"counts": {"10000": 2}}, "count-1")
    assert answer.status_code == 201, answer.text
    done: dict[str, Any] = answer.json()
    assert done["variance"] == -5000
    return done


def test_a_second_manager_corrects_a_short_count_and_both_stay_on_record(
    client: TestClient,
    db: Database,
    manager: dict[str, str],
    second_manager: dict[str, str],
    kiosk: Kiosk,
) -> None:
    first = counted_short(client, manager, kiosk)
    assert first["recounts"] == []
    assert first["counted"]["recount"] is None
    assert balance(db, "variance:cash") == -5000
    assert balance(db, "clearing:bank") == -20000

    body = {"counts": {"10000": 2, "5000": 1}, "reason": "a 50 note was stuck in the cassette"}
    answer = recount_of(client, second_manager, first["id"], body, "recount-1")
    assert answer.status_code == 201, answer.text
    done = answer.json()
    assert (done["variance"], done["result"], done["variance_account"]) == (0, "exact", None)
    assert done["counted"] == {
        "counts": {"5000": 1, "10000": 2},
        "total": 25000,
        "by": "staff:ann",
        "at": done["counted"]["at"],
        "recount": 1,
    }
    assert done["variance_by_denomination"] == {}
    (fix,) = done["recounts"]
    assert fix["previous"] == {"counts": {"10000": 2}, "total": 20000}  # the count, kept
    assert fix["counted"] == {"counts": {"5000": 1, "10000": 2}, "total": 25000}
    assert (fix["number"], fix["change"], fix["by"]) == (1, 5000, "staff:ann")
    assert fix["reason"] == "a 50 note was stuck in the cassette"
    # The count's own transaction is untouched; the recount moves only the difference.
    assert done["transaction_id"] == first["transaction_id"]
    assert legs_of(db, fix["transaction_id"]) == {"clearing:bank": -5000, "variance:cash": 5000}
    assert legs_of(db, first["transaction_id"]) == {
        f"cash_box:{kiosk.id}": 25000,
        "clearing:bank": -20000,
        "variance:cash": -5000,
    }
    assert balance(db, "variance:cash") == 0
    assert balance(db, "clearing:bank") == -25000
    assert balance(db, f"cash_box:{kiosk.id}") == 0
    assert client.get(f"/v1/cash/collections/{first['id']}", headers=manager).json() == done
    assert collections(client, manager, status="counted") == [done]

    replay = recount_of(client, second_manager, first["id"], body, "recount-1")
    assert (replay.status_code, replay.json()) == (201, done)
    assert replay.headers["Idempotent-Replayed"] == "true"
    reused = recount_of(
        client, second_manager, first["id"], {"total": 1, "reason": "another"}, "recount-1"
    )
    assert reused.status_code == 409, reused.text
    assert reused.json()["error"]["code"] == "idempotency_conflict"
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(cash_recounts)).scalar_one() == 1
        kinds = conn.execute(
            select(transactions.c.kind, transactions.c.idempotency_key).where(
                transactions.c.id == fix["transaction_id"]
            )
        ).one()
        assert tuple(kinds) == ("cash_recount", recount.ledger_key(first["id"], 1))
        audited = conn.execute(
            select(audit_log.c.actor, audit_log.c.subject).where(
                audit_log.c.action == "cash_recount"
            )
        ).all()
    assert [tuple(a) for a in audited] == [("staff:ann", f"cash_collection:{first['id']}")]

    # The first counter may correct the correction: the count in force is ann's.
    back = recount_of(
        client, manager, first["id"], {"total": 24000, "reason": "bank slip 0412"}, "recount-2"
    )
    assert back.status_code == 201, back.text
    again = back.json()
    assert [r["number"] for r in again["recounts"]] == [1, 2]
    assert again["recounts"][1]["previous"]["total"] == 25000
    assert (again["counted"]["total"], again["counted"]["counts"]) == (24000, None)
    assert again["variance"] == -1000
    assert balance(db, "variance:cash") == -1000
    assert balance(db, "clearing:bank") == -24000
    books_balance(db)


def test_a_recount_is_refused_where_it_would_not_be_a_second_persons_correction(
    client: TestClient,
    db: Database,
    manager: dict[str, str],
    second_manager: dict[str, str],
    kiosk: Kiosk,
) -> None:
    kiosk.cash(10000)
    kiosk.journal.collect_cash()
    kiosk.sync()
    (c,) = collections(client, manager)
    reason = "recounted at the bank"
    early = recount_of(client, second_manager, c["id"], {"total": 1, "reason": reason}, "k0")
    assert early.status_code == 409, early.text
    assert early.json()["error"]["code"] == "not_counted"
    assert "/count" in early.json()["error"]["message"]

    assert count(client, manager, c["id"], {"total": 9000}, "count-1").status_code == 201
    stands = count(client, second_manager, c["id"], {"total": 10000}, "count-2")
    assert stands.json()["error"]["code"] == "already_counted"
    assert "recount" in stands.json()["error"]["message"]  # it says how to correct

    own = recount_of(client, manager, c["id"], {"total": 10000, "reason": reason}, "k1")
    assert own.status_code == 409, own.text
    assert own.json()["error"]["code"] == "second_person_required"
    for same in ({"total": 9000}, {"counts": {"5000": 1, "2000": 2}}):
        answer = recount_of(client, second_manager, c["id"], {**same, "reason": reason}, "k2")
        # The total alone is the same count; so are the same denominations.
        if "counts" in same:
            assert answer.status_code == 201, answer.text  # 9000 was a total: now known per note
            assert answer.json()["recounts"][-1]["transaction_id"] is None
            assert answer.json()["counted"]["counts"] == {"2000": 2, "5000": 1}
        else:
            assert answer.status_code == 409, answer.text
            assert answer.json()["error"]["code"] == "count_unchanged"
    unchanged = recount_of(
        client,
        manager,
        c["id"],
        {"counts": {"5000": 1, "2000": 2, "100": 0}, "reason": reason},
        "k3",
    )
    assert unchanged.json()["error"]["code"] == "count_unchanged"  # zero pieces are no change
    for bad in ("", "  ok ", "x" * 201, "two\nlines", "\x1b[2Jwiped"):
        answer = recount_of(client, manager, c["id"], {"total": 1, "reason": bad}, "k4")
        assert answer.status_code == 422, (bad, answer.text)
    missing = recount_of(client, manager, c["id"], {"total": 1}, "k5")
    assert missing.status_code == 422
    both = recount_of(client, manager, c["id"], {"total": 1, "counts": {}, "reason": reason}, "k6")
    assert both.json()["error"]["code"] == "invalid_count"
    for role in ("cashier", "auditor"):
        headers = {"Authorization": f"Bearer {token_for(db, role)}"}
        refused = recount_of(client, headers, c["id"], {"total": 1, "reason": reason}, "k7")
        assert refused.status_code == 403, refused.text
    unknown = recount_of(client, manager, 999999, {"total": 1, "reason": reason}, "k8")
    assert unknown.json()["error"]["code"] == "unknown_collection"
    # Nothing refused moved money: the variance is still the count's 90.00 against 100.00.
    assert balance(db, "variance:cash") == -1000
    assert balance(db, "clearing:bank") == -9000
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(cash_recounts)).scalar_one() == 1
    books_balance(db)


@pytest.mark.parametrize(
    "reason", ["", "ok", "x" * 201, "tab\there", "line\r\nbreak", "\u202eright-to-left"]
)
def test_a_reason_must_be_one_line_of_text(reason: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        recount.parse_reason(reason)
    assert err.value.code == "invalid_reason"


def test_the_command_recounts_once_per_second_person(
    client: TestClient,
    db: Database,
    db_url: str,
    manager: dict[str, str],
    second_manager: dict[str, str],
    kiosk: Kiosk,
) -> None:
    first = counted_short(client, manager, kiosk)  # counted through the API by staff:boss
    cid = str(first["id"])
    fix = ("--counts", "10000=2,5000=1", "--reason", "stuck note")
    # The counter cannot recount at the console either: the console signs boss in too.
    own = run_cli(db_url, "recount", cid, *fix, "--by", "boss")
    assert own.returncode == 1
    assert "second_person_required" in own.stderr
    for who, password, code in (
        ("ann", "not the password", "bad_credentials"),
        ("li", MANAGER_PASSWORD, "bad_credentials"),  # a made-up name is not a second person
        ("auditor", MANAGER_PASSWORD, "forbidden_role"),
        ("ann", None, "password_needed"),
    ):
        refused = run_cli(db_url, "recount", cid, *fix, "--by", who, password=password)
        assert refused.returncode == 1, (who, refused.stdout)
        assert code in refused.stderr, refused.stderr
    fixed = run_cli(db_url, "recount", cid, *fix, "--by", "ann")
    assert fixed.returncode == 0, fixed.stderr
    assert "recount 1 by staff:ann: 200.00 CNY -> 250.00 CNY" in fixed.stdout
    assert "50.00 CNY more to clearing:bank" in fixed.stdout
    assert "now exact against the kiosk's count" in fixed.stdout
    again = run_cli(db_url, "recount", cid, "--total", "1", "--reason", "mine", "--by", "ann")
    assert again.returncode == 1
    assert "second_person_required" in again.stderr
    nobody = run_cli(db_url, "recount", cid, "--total", "1", "--reason", "who")
    assert nobody.returncode == 2
    assert "--by" in nobody.stderr
    listed = run_cli(db_url, "collections")
    assert "exact" in listed.stdout
    as_json = run_cli(
        db_url, "recount", cid, "--total", "25000", "--reason", "same", "--by", "boss", "--json"
    )
    assert as_json.returncode == 1
    assert "count_unchanged" in as_json.stderr
    with db.read() as conn:
        audited = conn.execute(
            select(audit_log).where(
                audit_log.c.subject == f"cash_collection:{cid}",
                audit_log.c.action == "cash_recount",
            )
        ).all()
    assert [(a.actor, a.remote, a.idempotency_key) for a in audited] == [
        ("staff:ann", "console", f"cash_recount:{cid}:1")
    ]
    assert balance(db, "variance:cash") == 0
    books_balance(db)


_terminals = itertools.count(1)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    expected=st.integers(0, 10**6),
    totals=st.lists(st.integers(0, 10**6), min_size=1, max_size=5),
)
def test_the_books_follow_the_count_in_force_through_any_recounts(
    db: Database, expected: int, totals: list[int]
) -> None:
    terminal = f"kiosk-r{next(_terminals)}"
    codes = (f"cash_box:{terminal}", "clearing:bank", "variance:cash")
    before = {code: balance(db, code) for code in codes}
    with db.write() as conn:
        collection_id = boxed_collection(
            conn, terminal, "coin_acceptor", {1: expected} if expected else {}
        )
        service.count_collection(
            conn, Context(ESTATE, "c", "staff:boss"), collection_id, service.parse_count(total=0)
        )
    in_force, recounts = 0, 0
    for i, total in enumerate(totals):
        who = ("staff:ann", "staff:boss")[recounts % 2]  # never whoever made the one in force
        with db.write() as conn:
            try:
                done = recount.recount_collection(
                    conn,
                    Context(ESTATE, f"r{i}", who),
                    collection_id,
                    service.parse_count(total=total),
                    "hypothesis recount",
                )
            except recount.CountUnchanged:
                assert total == in_force
                continue
        in_force, recounts = total, recounts + 1
        assert done["counted"]["total"] == total
        assert done["variance"] == total - expected
        assert [r["number"] for r in done["recounts"]] == list(range(1, recounts + 1))
        change = {code: balance(db, code) - before[code] for code in codes}
        assert change == {
            f"cash_box:{terminal}": 0,  # relieved by the count, never by a recount
            "clearing:bank": -total,
            "variance:cash": total - expected,
        }
    books_balance(db)
