"""The technician's commands against a real server process: enrol, sign, rotate,
configure, heartbeat, decommission."""

from __future__ import annotations

import itertools
import json
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from provisioning.cli import main
from provisioning.client import SignedClient
from provisioning.enrolment import open_client
from provisioning.errors import ServerRefused
from provisioning.identity import TerminalFiles
from tests.provisioning.conftest import Server

_keys = itertools.count()


def enroll(server: Server, directory: Path, terminal_type: str = "kiosk") -> TerminalFiles:
    code = server.code(terminal_type)
    args = ["--dir", str(directory), "enroll", "--server", server.url, "--code", code]
    assert main([*args, "--type", terminal_type]) == 0
    return TerminalFiles(directory)


def cash_top_up(source: str, amount: int = 1000) -> dict[str, Any]:
    return {
        "unit": "A-0101",
        "wallet": "electricity",
        "amount": amount,
        "currency": "CNY",
        "method": "cash",
        "source": source,
    }


def top_up(client: SignedClient, amount: int = 1000) -> requests.Response:
    payload = json.dumps(cash_top_up(client.terminal_id, amount)).encode()
    headers = client.signed("POST", "/v1/ledger/top-ups", payload)
    headers.update(
        {"Content-Type": "application/json", "Idempotency-Key": f"e2e-{time.time()}-{next(_keys)}"}
    )
    return client.session.post(
        client.server + "/v1/ledger/top-ups", data=payload, headers=headers, timeout=10
    )


def terminal_state(server: Server, terminal_id: str) -> dict[str, Any]:
    answer = requests.get(
        f"{server.url}/v1/terminals/{terminal_id}", headers=server.manager, timeout=10
    )
    assert answer.status_code == 200, answer.text
    state: dict[str, Any] = answer.json()
    return state


def test_enrolment_end_to_end(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = server.code("kiosk")
    qr_text = f"prepaid-enrol:{code}?server={server.url}"  # what scanning the QR code gives
    assert main(["--dir", str(tmp_path / "t"), "enroll", "--code", qr_text, "--type", "kiosk"]) == 0
    out = capsys.readouterr().out
    files = TerminalFiles(tmp_path / "t")
    identity = files.load()
    assert f"enrolled as {identity.terminal_id}" in out
    assert identity.server == server.url
    assert identity.config_version == 1
    assert identity.config["heartbeat_interval_s"] == 60
    assert stat.S_IMODE(files.key_path.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in files.key_path.read_bytes()
    assert not files.next_key_path.exists()

    # The terminal now signs its requests: cash into its own cash box.
    _, client = open_client(files)
    answer = top_up(client)
    assert answer.status_code == 201, answer.text
    assert answer.json()["balances"][f"cash_box:{identity.terminal_id}"] < 0

    # The same code again, from another terminal: refused, with what to do.
    again = ["--dir", str(tmp_path / "u"), "enroll", "--server", server.url, "--code", code]
    assert main(again) == 1
    err = capsys.readouterr().err
    assert "already used" in err
    assert "ask the manager for a new one" in err
    assert not TerminalFiles(tmp_path / "u").enrolled()

    # A code for a gate, used on a kiosk: refused.
    gate_code = server.code("gate")
    wrong = ["--dir", str(tmp_path / "v"), "enroll", "--server", server.url, "--code", gate_code]
    assert main([*wrong, "--type", "kiosk"]) == 1
    assert "this code is for a gate" in capsys.readouterr().err
    # ...and enrolling twice on one terminal needs --force.
    assert (
        main(["--dir", str(tmp_path / "t"), "enroll", "--server", server.url, "--code", "x"]) == 1
    )
    assert "already enrolled" in capsys.readouterr().err


def test_a_clock_two_hours_off_recovers_by_itself(server: Server, tmp_path: Path) -> None:
    files = enroll(server, tmp_path)

    def skewed() -> float:
        return time.time() - 7200  # the clock reset after a power cut

    identity, client = open_client(files, clock=skewed)
    answer = client.call("GET", f"/v1/terminals/{identity.terminal_id}/config")
    assert answer["version"] == 1
    assert abs(client.clock_offset_s - 7200) < 5
    assert abs(files.load().clock_offset_s - 7200) < 5  # remembered for the next run
    # A later client starts with the corrected offset and needs no retry.
    _, later = open_client(files, clock=skewed)
    assert later.request("GET", f"/v1/terminals/{identity.terminal_id}/config").status_code == 200
    assert top_up(later).status_code == 201
    # The heartbeat reports the raw clock: the fleet sees it is off.
    beat = later.call(
        "POST",
        f"/v1/terminals/{identity.terminal_id}/heartbeat",
        {"software_version": "0.1.0", "clock": skewed(), "config_version": 1},
    )
    assert beat["status"] == "active"
    state = terminal_state(server, identity.terminal_id)
    assert state["state"] == "degraded"
    assert any(r.startswith("clock off by -7") for r in state["reasons"])


def test_key_rotation_with_requests_in_flight(server: Server, tmp_path: Path) -> None:
    files = enroll(server, tmp_path)
    identity = files.load()
    old_key_id, old_key = identity.key_id, files.load_key()
    statuses: list[int] = []
    stop = threading.Event()

    def keep_busy() -> None:
        _, client = open_client(files)  # loaded before the rotation: signs with the old key
        with client.session:
            while not stop.is_set():
                statuses.append(
                    client.request(
                        "GET", f"/v1/terminals/{identity.terminal_id}/config"
                    ).status_code
                )

    workers = [threading.Thread(target=keep_busy) for _ in range(3)]
    for w in workers:
        w.start()
    time.sleep(0.3)
    try:
        assert main(["--dir", str(tmp_path), "rotate-key"]) == 0
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=10)
    assert statuses
    assert set(statuses) == {200}, statuses  # no request was refused during the rotation

    rotated = files.load()
    assert rotated.key_id != old_key_id
    _, client = open_client(files)
    assert top_up(client).status_code == 201
    # The old key signs nothing new.
    old = SignedClient(
        server.url,
        terminal_id=identity.terminal_id,
        key=old_key,
        key_id=old_key_id,
        clock=lambda: time.time() + 10,
    )
    with pytest.raises(ServerRefused) as refused:
        old.call("GET", f"/v1/terminals/{identity.terminal_id}/config")
    assert refused.value.code == "key_retired"


def test_config_set_pull_and_acknowledge(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = enroll(server, tmp_path)
    terminal_id = files.load().terminal_id
    d = ["--dir", str(tmp_path)]
    assert main([*d, "config", "set", "devices.printer=sim://printer", "language=en"]) == 0
    applied = files.load()
    assert applied.config_version == 2
    assert applied.config["devices"] == {"printer": "sim://printer"}
    assert applied.config["language"] == "en"
    assert terminal_state(server, terminal_id)["config_version_acked"] == 2

    # The manager changes it on the server; the next heartbeat brings it here.
    config = {**applied.config, "denominations": [1000, 5000]}
    put = requests.put(
        f"{server.url}/v1/terminals/{terminal_id}/config",
        json={"config": config, "base_version": 2},
        headers=server.manager,
        timeout=10,
    )
    assert put.status_code == 200, put.text
    capsys.readouterr()
    assert main([*d, "heartbeat"]) == 0
    assert files.load().config_version == 3
    assert files.load().config["denominations"] == [1000, 5000]
    assert terminal_state(server, terminal_id)["config_version_acked"] == 3

    assert main([*d, "config", "show"]) == 0
    shown = capsys.readouterr().out
    assert "configuration version 3" in shown
    assert '"printer": "sim://printer"' in shown
    assert main([*d, "config", "pull"]) == 0
    assert "already running" in capsys.readouterr().out


def test_heartbeats_stop_and_start(server: Server, tmp_path: Path) -> None:
    files = enroll(server, tmp_path)
    terminal_id = files.load().terminal_id
    d = ["--dir", str(tmp_path)]
    assert main([*d, "config", "set", "heartbeat_interval_s=1"]) == 0
    assert terminal_state(server, terminal_id)["state"] == "offline"  # none yet
    assert main([*d, "heartbeat", "--every", "0.2", "--count", "2"]) == 0
    assert terminal_state(server, terminal_id)["state"] == "online"
    time.sleep(3.3)  # three missed heartbeats
    state = terminal_state(server, terminal_id)
    assert state["state"] == "offline"
    assert "no heartbeat for" in state["reasons"][0]
    (files.dir / "device_states.json").write_text(
        json.dumps({"bill_acceptor": {"ok": False, "state": "jam", "detail": "note jammed"}})
    )
    assert main([*d, "heartbeat"]) == 0
    state = terminal_state(server, terminal_id)
    assert state["state"] == "degraded"
    assert state["reasons"] == ["bill_acceptor failing: note jammed"]
    (files.dir / "device_states.json").unlink()
    assert main([*d, "heartbeat"]) == 0
    assert terminal_state(server, terminal_id)["state"] == "online"
    fleet = requests.get(f"{server.url}/v1/terminals", headers=server.manager, timeout=10).json()
    assert terminal_id in {t["terminal_id"] for t in fleet["terminals"]}


def test_decommission_with_unsynced_entries_still_landing(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = enroll(server, tmp_path)
    terminal_id = files.load().terminal_id
    d = ["--dir", str(tmp_path)]
    # Its journal holds entries 1 to 3; 2 and 3 are not on the server yet.
    assert main([*d, "heartbeat", "--journal-head", "3", "--backlog", "2"]) == 0
    answer = requests.post(
        f"{server.url}/v1/terminals/{terminal_id}/decommission",
        json={},
        headers=server.manager,
        timeout=10,
    )
    assert answer.json()["status"] == "decommissioning"

    _, client = open_client(files)
    refused = top_up(client)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "terminal_decommissioning"

    batch = {
        "entries": [
            {"key": f"{terminal_id}:{seq}", "operation": "top_up", "body": cash_top_up(terminal_id)}
            for seq in (2, 3)
        ]
    }
    landed = client.call("POST", "/v1/ledger/batch", batch)
    assert landed["applied"] == 2
    done = client.call("POST", f"/v1/terminals/{terminal_id}/journal/synced", {"last_seq": 3})
    assert done["status"] == "decommissioned"

    capsys.readouterr()
    assert main([*d, "config", "pull"]) == 1
    assert "key_dead" in capsys.readouterr().err


def test_a_clock_two_hours_off_syncs_its_journal(server: Server, tmp_path: Path) -> None:
    paths = requests.get(f"{server.url}/openapi.json", timeout=10).json()["paths"]
    if "/v1/terminals/{terminal_id}/journal" not in paths:
        pytest.skip("the journal endpoint is not wired into the app yet")
    from offline_queue.client import RequestsTransport
    from offline_queue.client import SignedClient as JournalClient
    from offline_queue.identity import Identity as JournalIdentity
    from offline_queue.journal import Journal
    from offline_queue.sync import SyncClient

    files = enroll(server, tmp_path)
    identity = JournalIdentity.from_terminal_dir(files.dir)  # the key enrolment made

    def skewed() -> float:
        return time.time() - 7200

    transport = RequestsTransport(server.url)
    with Journal(files.dir / "journal.sqlite3", identity, clock=skewed) as journal:
        for amount in (500, 700):
            journal.append("top_up", cash_top_up(identity.terminal_id, amount))
        sync = SyncClient(journal, JournalClient(identity, transport, clock=skewed))
        result = sync.sync_once()
        assert (result.applied, result.rejected) == (2, 0)
        assert journal.backlog() == 0
    transport.close()
    assert main(["--dir", str(tmp_path), "heartbeat"]) == 0
    state = terminal_state(server, identity.terminal_id)
    assert state["journal_backlog"] == 0


def test_a_rotation_cut_short_is_finished_by_the_next_one(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from domain import signing
    from provisioning.identity import public_bytes

    files = enroll(server, tmp_path)
    identity, client = open_client(files)
    # The new key reached the server, then the power went before the files were swapped.
    key = Ed25519PrivateKey.generate()
    files.save_key(key, files.next_key_path)
    public = public_bytes(key)
    proof = key.sign(signing.rotation_proof_message(identity.terminal_id, public))
    client.call(
        "POST",
        f"/v1/terminals/{identity.terminal_id}/keys",
        {"public_key": signing.b64(public), "proof": signing.b64(proof)},
    )
    assert main(["--dir", str(tmp_path), "rotate-key"]) == 0
    assert files.load().key_id == signing.public_key_id(public)
    assert not files.next_key_path.exists()
    capsys.readouterr()
    assert main(["--dir", str(tmp_path), "status"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["server"]["status"] == "active"
    assert status["local"]["terminal_id"] == identity.terminal_id
