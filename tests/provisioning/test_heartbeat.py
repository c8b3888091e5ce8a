"""What a heartbeat carries, read from the terminal's own files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from offline_queue.identity import Identity as JournalIdentity
from offline_queue.journal import Journal
from provisioning import heartbeat
from provisioning.identity import Identity, TerminalFiles


def enrolled(tmp_path: Path) -> TerminalFiles:
    files = TerminalFiles(tmp_path)
    files.save(
        Identity(
            server="http://127.0.0.1:9",
            terminal_id="kiosk-007",
            terminal_type="kiosk",
            location="Lobby",
            key_id="k",
            config_version=3,
            config={"devices": {"printer": "sim://printer"}},
        )
    )
    files.save_key(Ed25519PrivateKey.generate())
    return files


def test_the_journal_backlog_and_head_come_from_the_offline_journal(tmp_path: Path) -> None:
    files = enrolled(tmp_path)
    assert heartbeat.build(files)["journal_head"] is None  # no journal yet
    identity = JournalIdentity.from_terminal_dir(files.dir)  # the journal reads our files
    cash = {
        "unit": "A-0101",
        "wallet": "electricity",
        "amount": 500,
        "currency": "CNY",
        "method": "cash",
        "source": "kiosk-007",
    }
    with Journal(files.dir / "journal.sqlite3", identity) as journal:
        for _ in range(3):
            journal.append("top_up", cash)
        beat = heartbeat.build(files, clock=lambda: 1234.5)
    assert beat["journal_head"] == 3
    assert beat["journal_backlog"] == 3
    assert beat["config_version"] == 3
    assert beat["clock"] == 1234.5
    assert beat["software_version"]


def test_device_states_from_the_apps_or_a_self_test(tmp_path: Path) -> None:
    files = enrolled(tmp_path)
    (files.dir / "device_states.json").write_text(
        json.dumps({"printer": {"ok": False, "state": "paper_out", "detail": "no paper"}})
    )
    assert heartbeat.build(files)["devices"] == {
        "printer": {"ok": False, "state": "paper_out", "detail": "no paper"}
    }
    tested = heartbeat.build(files, self_test=True)["devices"]
    assert tested == {"printer": {"ok": True, "state": "ok", "detail": ""}}
    (files.dir / "journal_state.json").write_text(json.dumps({"backlog": 4, "head": 9}))
    beat = heartbeat.build(files)
    assert (beat["journal_backlog"], beat["journal_head"]) == (4, 9)


def test_heartbeats_outlive_a_network_outage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench.harness import free_port
    from provisioning.cli import main

    files = enrolled(tmp_path)
    identity = files.load()
    identity.server = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    files.save(identity)
    assert main(["--dir", str(tmp_path), "heartbeat", "--every", "0.01", "--count", "2"]) == 1
    err = capsys.readouterr().err
    assert err.count("heartbeat not sent: no answer from") == 2
