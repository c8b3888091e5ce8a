"""Terminal registry on the server: enrolment codes, signed requests, keys, config,
heartbeats and fleet health, decommission. In process (TestClient); the end-to-end
run against a real server process is in tests/provisioning."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from central.db.database import Database
from central.db.schema import idempotency_keys, postings, transactions
from central.terminals import enrolment, health, lifecycle
from central.terminals.tables import (
    enrolment_codes,
    terminal_configs,
    terminal_heartbeats,
    terminal_keys,
    terminal_nonces,
    terminals,
)
from domain import signing
from provisioning.client import encode_body, sign_headers
from provisioning.identity import public_bytes

_keys = itertools.count()
# Most of these run on SQLite only; the refusals and the decommission run on both backends.
sqlite_only = pytest.mark.parametrize("new_database", ["sqlite"], indirect=True)


@dataclass
class Terminal:
    id: str
    key: Ed25519PrivateKey
    key_id: str


def new_code(
    client: TestClient, manager: dict[str, str], terminal_type: str = "kiosk", **extra: Any
) -> str:
    answer = client.post(
        "/v1/terminals/enrolment-codes",
        json={"terminal_type": terminal_type, "location": "Tower A lobby", **extra},
        headers=manager,
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["qr_svg"].startswith("<svg")
    assert body["qr_text"].startswith("prepaid-enrol:")
    code: str = body["code"]
    return code


def enrol_body(code: str, key: Ed25519PrivateKey, **extra: Any) -> dict[str, Any]:
    public = public_bytes(key)
    return {
        "code": code,
        "public_key": signing.b64(public),
        "proof": signing.b64(key.sign(signing.enrolment_proof_message(code, public))),
        **extra,
    }


def enrol(client: TestClient, manager: dict[str, str], terminal_type: str = "kiosk") -> Terminal:
    key = Ed25519PrivateKey.generate()
    code = new_code(client, manager, terminal_type)
    answer = client.post(
        "/v1/terminals/enrol", json=enrol_body(code, key, terminal_type=terminal_type)
    )
    assert answer.status_code == 201, answer.text
    return Terminal(answer.json()["terminal_id"], key, answer.json()["key_id"])


def signed(
    client: TestClient,
    t: Terminal,
    method: str,
    path: str,
    body: Any = None,
    *,
    created: float | None = None,
    nonce: str | None = None,
    act_as: str | None = None,
    key: Ed25519PrivateKey | None = None,
    send_body: bytes | None = None,
    extra: dict[str, str] | None = None,
) -> Any:
    payload = encode_body(body)
    headers = sign_headers(
        method=method,
        path=path,
        body=payload,
        key=key or t.key,
        key_id=t.key_id,
        terminal_id=act_as or t.id,
        created=int(time.time() if created is None else created),
        nonce=nonce,
    )
    headers["Content-Type"] = "application/json"
    headers.update(extra or {})
    return client.request(
        method, path, content=payload if send_body is None else send_body, headers=headers
    )


def cash_top_up(source: str, amount: int = 1000) -> dict[str, Any]:
    return {
        "unit": "A-0101",
        "wallet": "electricity",
        "amount": amount,
        "currency": "CNY",
        "method": "cash",
        "source": source,
    }


def idem() -> dict[str, str]:
    return {"Idempotency-Key": f"terminal-test-{next(_keys)}"}


def counts(db: Database) -> tuple[int, ...]:
    with db.read() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (
                transactions,
                postings,
                idempotency_keys,
                terminal_nonces,
                terminal_keys,
                terminal_configs,
                terminal_heartbeats,
            )
        )


def heartbeat_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "software_version": "0.1.0",
        "config_version": 1,
        "journal_backlog": 0,
        "journal_head": 0,
        "clock": time.time(),
        "devices": {"bill_acceptor": {"ok": True, "state": "idle"}},
    }
    body.update(over)
    return body


# -- enrolment codes --------------------------------------------------------------------


@sqlite_only
def test_a_code_enrols_once(client: TestClient, db: Database, manager: dict[str, str]) -> None:
    code = new_code(client, manager, "gate")
    key = Ed25519PrivateKey.generate()
    first = client.post("/v1/terminals/enrol", json=enrol_body(code, key))
    assert first.status_code == 201, first.text
    assert first.json()["terminal_id"] == "gate-001"
    assert first.json()["config_version"] == 1
    # A retry with the same key (the answer was lost) gets the same terminal back.
    retry = client.post("/v1/terminals/enrol", json=enrol_body(code, key))
    assert retry.status_code == 201
    assert retry.json()["terminal_id"] == "gate-001"

    before = counts(db)
    other = client.post("/v1/terminals/enrol", json=enrol_body(code, Ed25519PrivateKey.generate()))
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "code_used"
    assert counts(db) == before


@sqlite_only
def test_expired_unknown_and_wrong_type_codes_are_refused(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    code = new_code(client, manager, "kiosk")
    before = counts(db)
    wrong = client.post(
        "/v1/terminals/enrol",
        json=enrol_body(code, Ed25519PrivateKey.generate(), terminal_type="turnstile"),
    )
    assert wrong.status_code == 409
    assert wrong.json()["error"]["code"] == "wrong_terminal_type"
    assert "for a kiosk" in wrong.json()["error"]["message"]

    unknown = client.post(
        "/v1/terminals/enrol", json=enrol_body("AAAA-BBBB-CCCC-DDDD", Ed25519PrivateKey.generate())
    )
    assert unknown.status_code == 401
    assert unknown.json()["error"]["code"] == "unknown_code"

    with db.write() as conn:
        conn.execute(
            update(enrolment_codes).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    expired = client.post(
        "/v1/terminals/enrol", json=enrol_body(code, Ed25519PrivateKey.generate())
    )
    assert expired.status_code == 409
    assert expired.json()["error"]["code"] == "code_expired"

    # A proof made by another key than the one sent: refused.
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    body = enrol_body(code, key)
    body["proof"] = enrol_body(code, other)["proof"]
    assert client.post("/v1/terminals/enrol", json=body).json()["error"]["code"] == "bad_proof"
    assert counts(db) == before


@sqlite_only
def test_codes_are_typed_forgivingly_and_default_to_24_hours(db: Database) -> None:
    with db.write() as conn:
        code = enrolment.create_code(
            conn, terminal_type="turnstile", location="Gym", created_by="staff:boss"
        )
    assert code.expires_at - datetime.now(UTC) > timedelta(hours=23, minutes=59)
    sloppy = code.code.lower().replace("-", " ")
    assert enrolment.code_hash(sloppy) == enrolment.code_hash(code.code)
    assert signing.parse_qr_payload(code.qr_text("http://srv:8470")) == (
        signing.normalize_code(code.code),
        "http://srv:8470",
    )


@sqlite_only
def test_only_managers_make_codes(client: TestClient, db: Database) -> None:
    from tests.central.conftest import token_for

    cashier = {"Authorization": f"Bearer {token_for(db, 'cashier')}"}
    answer = client.post(
        "/v1/terminals/enrolment-codes",
        json={"terminal_type": "kiosk", "location": "x"},
        headers=cashier,
    )
    assert answer.status_code == 403


# -- signed requests --------------------------------------------------------------------


@sqlite_only
def test_a_signed_terminal_tops_up_its_own_cash_box(
    client: TestClient, manager: dict[str, str]
) -> None:
    t = enrol(client, manager)
    answer = signed(client, t, "POST", "/v1/ledger/top-ups", cash_top_up(t.id), extra=idem())
    assert answer.status_code == 201, answer.text
    assert answer.json()["balances"][f"cash_box:{t.id}"] == -1000
    assert "server-time" in answer.headers


def test_each_signature_failure_is_refused_and_writes_nothing(
    client: TestClient, db: Database, manager: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    t = enrol(client, manager)
    other = enrol(client, manager)
    path = "/v1/ledger/top-ups"
    body = cash_top_up(t.id)

    before = counts(db)
    # Tampered body: the digest no longer matches.
    tampered = signed(
        client, t, "POST", path, body, send_body=encode_body(cash_top_up(t.id, 9999)), extra=idem()
    )
    assert tampered.status_code == 401
    assert tampered.json()["error"]["code"] == "digest_mismatch"
    # Tampered body with a recomputed digest: the signature no longer verifies.
    forged = encode_body(cash_top_up(t.id, 9999))
    fixed = signed(
        client,
        t,
        "POST",
        path,
        body,
        send_body=forged,
        extra={**idem(), "Content-Digest": signing.content_digest(forged)},
    )
    assert fixed.status_code == 401
    assert fixed.json()["error"]["code"] == "bad_signature"
    # Signed by a key that is not the one named.
    wrong_key = signed(
        client, t, "POST", path, body, key=Ed25519PrivateKey.generate(), extra=idem()
    )
    assert wrong_key.json()["error"]["code"] == "bad_signature"
    # Acting for another terminal.
    mismatch = signed(client, t, "POST", path, body, act_as=other.id, extra=idem())
    assert mismatch.status_code == 403
    assert mismatch.json()["error"]["code"] == "terminal_mismatch"
    hb = signed(client, t, "POST", f"/v1/terminals/{other.id}/heartbeat", heartbeat_body())
    assert hb.status_code == 403
    assert counts(db) == before

    # A replayed nonce: the first passes, the copy is refused.
    first = signed(
        client, t, "POST", path, body, nonce="once-only", extra={"Idempotency-Key": "r1"}
    )
    assert first.status_code == 201
    after_first = counts(db)
    replay = signed(
        client, t, "POST", path, body, nonce="once-only", extra={"Idempotency-Key": "r2"}
    )
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "replayed_nonce"
    assert counts(db) == after_first

    # A revoked terminal.
    with db.write() as conn:
        lifecycle.revoke(conn, t.id)
    revoked = signed(client, t, "POST", path, body, extra=idem())
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "key_dead"
    assert counts(db) == after_first
    # Each refusal is logged with the key and the reason.
    logged = [r for r in caplog.records if r.getMessage() == "terminal request refused"]
    assert {getattr(r, "code", None) for r in logged} >= {
        "digest_mismatch",
        "bad_signature",
        "terminal_mismatch",
        "replayed_nonce",
        "key_dead",
    }
    assert all(getattr(r, "key_id", "?") == t.key_id for r in logged)


@sqlite_only
def test_a_stale_timestamp_is_refused_with_the_servers_time(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    t = enrol(client, manager)
    before = counts(db)
    stale = signed(client, t, "GET", f"/v1/terminals/{t.id}/config", created=time.time() - 7200)
    assert stale.status_code == 401
    error = stale.json()["error"]
    assert error["code"] == "stale_timestamp"
    assert "server time is" in error["message"]
    server_time = float(stale.headers["server-time"])
    assert abs(server_time - time.time()) < 5
    assert counts(db) == before
    # Within five minutes passes.
    ok = signed(client, t, "GET", f"/v1/terminals/{t.id}/config", created=time.time() - 240)
    assert ok.status_code == 200


@sqlite_only
def test_rotation_keeps_requests_in_flight_and_old_signatures_valid(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    t = enrol(client, manager)
    path = "/v1/ledger/top-ups"
    # Requests signed by the old key, still on their way when the key rotates.
    in_flight = []
    for _ in range(3):
        payload = encode_body(cash_top_up(t.id))
        headers = sign_headers(
            method="POST",
            path=path,
            body=payload,
            key=t.key,
            key_id=t.key_id,
            terminal_id=t.id,
            created=int(time.time()),
        )
        in_flight.append((payload, {**headers, **idem(), "Content-Type": "application/json"}))
    entry = b"journal entry 1 signed before the rotation"
    entry_signature = t.key.sign(entry)

    new_key = Ed25519PrivateKey.generate()
    public = public_bytes(new_key)
    rotated = signed(
        client,
        t,
        "POST",
        f"/v1/terminals/{t.id}/keys",
        {
            "public_key": signing.b64(public),
            "proof": signing.b64(new_key.sign(signing.rotation_proof_message(t.id, public))),
        },
    )
    assert rotated.status_code == 201, rotated.text
    new = Terminal(t.id, new_key, rotated.json()["key_id"])

    for payload, headers in in_flight:
        answer = client.post(path, content=payload, headers=headers)
        assert answer.status_code == 201, answer.text
    assert signed(client, new, "POST", path, cash_top_up(t.id), extra=idem()).status_code == 201
    # The old key signs nothing new...
    late = signed(client, t, "POST", path, cash_top_up(t.id), created=time.time() + 10)
    assert late.status_code == 401
    assert late.json()["error"]["code"] == "key_retired"
    # ...but what it signed before still verifies.
    from central.terminals.keys import verify_detached

    with db.read() as conn:
        assert verify_detached(
            conn, terminal_id=t.id, key_id=t.key_id, message=entry, signature=entry_signature
        )
        assert not verify_detached(
            conn, terminal_id=t.id, key_id=new.key_id, message=entry, signature=entry_signature
        )
        keys = conn.execute(select(terminal_keys).where(terminal_keys.c.terminal_id == t.id)).all()
    assert len(keys) == 2


# -- configuration ------------------------------------------------------------------------


@sqlite_only
def test_config_versions_pull_and_acknowledge(client: TestClient, manager: dict[str, str]) -> None:
    t = enrol(client, manager)
    base = f"/v1/terminals/{t.id}/config"
    first = signed(client, t, "GET", base).json()
    assert first["version"] == 1
    assert first["config"]["denominations"]
    config = {**first["config"], "devices": {"bill_acceptor": "serial:///dev/ttyUSB0?baud=9600"}}
    put = client.put(base, json={"config": config, "base_version": 1}, headers=manager)
    assert put.status_code == 200, put.text
    assert put.json()["version"] == 2
    stale = client.put(base, json={"config": config, "base_version": 1}, headers=manager)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "config_conflict"
    bad = client.put(base, json={"config": {"devices": {"x": "not a url"}}}, headers=manager)
    assert bad.status_code == 422

    pulled = signed(client, t, "GET", base).json()
    assert pulled["version"] == 2
    assert pulled["acknowledged_version"] is None
    ack = signed(client, t, "POST", f"{base}/ack", {"version": 2})
    assert ack.status_code == 204
    assert client.get(base, headers=manager).json()["acknowledged_version"] == 2
    assert signed(client, t, "POST", f"{base}/ack", {"version": 7}).status_code == 404


# -- heartbeats and fleet health --------------------------------------------------------


@sqlite_only
def test_heartbeats_make_a_terminal_online_degraded_offline(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    t = enrol(client, manager)

    def state(at: datetime | None = None) -> tuple[str, list[str]]:
        with db.read() as conn:
            (h,) = health.fleet(conn, terminal_id=t.id, now=at)
        return h.state, h.reasons

    assert state()[0] == "offline"  # never heard from
    beat = signed(client, t, "POST", f"/v1/terminals/{t.id}/heartbeat", heartbeat_body())
    assert beat.status_code == 200, beat.text
    assert beat.json()["config_version"] == 1
    assert state() == ("online", [])

    # Heartbeats stop: offline after three missed intervals (60 s each by default).
    later = datetime.now(UTC) + timedelta(seconds=200)
    assert state(later)[0] == "offline"
    assert "no heartbeat for" in state(later)[1][0]
    # ...and start again.
    signed(client, t, "POST", f"/v1/terminals/{t.id}/heartbeat", heartbeat_body())
    assert state()[0] == "online"

    failing = {"bill_acceptor": {"ok": False, "state": "jam", "detail": "stacker jam"}}
    signed(client, t, "POST", f"/v1/terminals/{t.id}/heartbeat", heartbeat_body(devices=failing))
    assert state() == ("degraded", ["bill_acceptor failing: stacker jam"])

    for backlog in (5, 9, 14):
        signed(
            client,
            t,
            "POST",
            f"/v1/terminals/{t.id}/heartbeat",
            heartbeat_body(journal_backlog=backlog),
        )
    assert state() == ("degraded", ["journal backlog growing: 5, 9, 14"])

    skewed = heartbeat_body(clock=time.time() + 180)
    signed(client, t, "POST", f"/v1/terminals/{t.id}/heartbeat", skewed)
    assert state()[0] == "degraded"
    assert state()[1][0].startswith("clock off by +18")

    signed(client, t, "POST", f"/v1/terminals/{t.id}/heartbeat", heartbeat_body())
    assert state()[0] == "online"

    fleet = client.get("/v1/terminals", headers=manager)
    assert fleet.status_code == 200
    assert fleet.json()["counts"]["online"] == 1
    (item,) = fleet.json()["terminals"]
    assert item["terminal_id"] == t.id
    assert item["software_version"] == "0.1.0"
    assert signed(client, t, "GET", "/v1/terminals").status_code == 403  # staff only


# -- decommission -----------------------------------------------------------------------


def test_decommission_lets_the_journal_land_then_kills_the_key(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    t = enrol(client, manager)
    # Its last heartbeat says its journal holds entries up to 7.
    signed(
        client,
        t,
        "POST",
        f"/v1/terminals/{t.id}/heartbeat",
        heartbeat_body(journal_head=7, journal_backlog=2),
    )
    answer = client.post(f"/v1/terminals/{t.id}/decommission", json={}, headers=manager)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "decommissioning"
    assert answer.json()["journal_last_seq"] == 7

    before = counts(db)
    new = signed(client, t, "POST", "/v1/ledger/top-ups", cash_top_up(t.id), extra=idem())
    assert new.status_code == 403
    assert new.json()["error"]["code"] == "terminal_decommissioning"
    assert counts(db)[:3] == before[:3]

    # Its unsynced entries (6 and 7: two cash top-ups) still land.
    batch = {
        "entries": [
            {"key": f"{t.id}:6", "operation": "top_up", "body": cash_top_up(t.id, 500)},
            {"key": f"{t.id}:7", "operation": "top_up", "body": cash_top_up(t.id, 700)},
        ]
    }
    landed = signed(client, t, "POST", "/v1/ledger/batch", batch)
    assert landed.status_code == 200, landed.text
    assert landed.json()["applied"] == 2
    with db.read() as conn:
        assert lifecycle.journal_admits(conn, t.id, 7)
        assert not lifecycle.journal_admits(conn, t.id, 8)

    synced = signed(client, t, "POST", f"/v1/terminals/{t.id}/journal/synced", {"last_seq": 7})
    assert synced.status_code == 200
    assert synced.json()["status"] == "decommissioned"
    dead = signed(client, t, "POST", "/v1/ledger/batch", batch)
    assert dead.status_code == 401
    assert dead.json()["error"]["code"] == "key_dead"
    listed = client.get("/v1/terminals", headers=manager).json()
    assert listed["terminals"][0]["state"] == "retired"


@sqlite_only
def test_decommission_of_a_terminal_with_no_journal_kills_the_key_at_once(
    client: TestClient, manager: dict[str, str]
) -> None:
    t = enrol(client, manager)
    answer = client.post(f"/v1/terminals/{t.id}/decommission", json={}, headers=manager)
    assert answer.json()["status"] == "decommissioned"
    refused = signed(client, t, "GET", f"/v1/terminals/{t.id}/config")
    assert refused.json()["error"]["code"] == "key_dead"


# -- the CLI -----------------------------------------------------------------------------


def run_cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "central",
            "--database-url",
            db_url,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PREPAID_LOG_LEVEL": "WARNING", "PATH": "/usr/bin:/bin"},
    )


@sqlite_only
def test_cli_makes_a_code_with_a_qr_and_lists_the_fleet(
    client: TestClient, db_url: str, tmp_path: Path, manager: dict[str, str]
) -> None:
    png = tmp_path / "code.png"
    made = run_cli(
        db_url,
        "terminals",
        "code",
        "--type",
        "kiosk",
        "--location",
        "Tower B lobby",
        "--server",
        "http://10.0.0.2:8470",
        "--qr",
        str(png),
    )
    assert made.returncode == 0, made.stderr
    assert "enrolment code:" in made.stdout
    assert "prepaid provision enroll --server http://10.0.0.2:8470" in made.stdout
    assert "█" in made.stdout or "▀" in made.stdout  # the QR drawn in the terminal
    assert png.read_bytes().startswith(b"\x89PNG")
    code = made.stdout.split("enrolment code:")[1].split()[0]
    key = Ed25519PrivateKey.generate()
    assert client.post("/v1/terminals/enrol", json=enrol_body(code, key)).status_code == 201

    listed = run_cli(db_url, "terminals")
    assert listed.returncode == 0, listed.stderr
    assert "kiosk-001" in listed.stdout
    assert "offline" in listed.stdout
    assert "no heartbeat received yet" in listed.stdout
    gone = run_cli(db_url, "terminals", "revoke", "kiosk-001")
    assert gone.returncode == 0, gone.stderr
    assert '"revoked"' in gone.stdout


@pytest.mark.parametrize("terminal_type", ["kiosk", "gate", "turnstile", "meter-gateway"])
@sqlite_only
def test_every_terminal_type_enrols_with_a_default_config(
    client: TestClient, manager: dict[str, str], terminal_type: str
) -> None:
    t = enrol(client, manager, terminal_type)
    assert t.id == f"{terminal_type}-001"
    config = signed(client, t, "GET", f"/v1/terminals/{t.id}/config").json()["config"]
    assert config["heartbeat_interval_s"] == 60
    with_state = client.get(f"/v1/terminals/{t.id}", headers=manager).json()
    assert with_state["status"] == "active"
    assert with_state["state"] == "offline"


@sqlite_only
def test_heartbeat_history_is_bounded(
    client: TestClient, db: Database, manager: dict[str, str]
) -> None:
    t = enrol(client, manager)
    for _ in range(health.KEEP_HEARTBEATS + 5):
        signed(client, t, "POST", f"/v1/terminals/{t.id}/heartbeat", heartbeat_body())
    with db.read() as conn:
        n = conn.execute(
            select(func.count())
            .select_from(terminal_heartbeats)
            .where(terminal_heartbeats.c.terminal_id == t.id)
        ).scalar_one()
        row = conn.execute(select(terminals).where(terminals.c.id == t.id)).one()
    assert n == health.KEEP_HEARTBEATS
    assert row.last_heartbeat_at is not None


def test_terminals_enrolling_at_once_get_distinct_ids(
    client: TestClient, manager: dict[str, str]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    codes = [new_code(client, manager, "turnstile") for _ in range(4)]

    def go(code: str) -> Any:
        answer = client.post(
            "/v1/terminals/enrol", json=enrol_body(code, Ed25519PrivateKey.generate())
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["terminal_id"]

    with ThreadPoolExecutor(4) as pool:
        ids = sorted(pool.map(go, codes))
    assert ids == [f"turnstile-00{n}" for n in range(1, 5)]
