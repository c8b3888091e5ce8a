"""``prepaid queue``: status, rejections, report, verify, sync."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from offline_queue import cli
from offline_queue.identity import Identity
from offline_queue.journal import Journal
from offline_queue.sync import SyncClient
from tests.offline_queue import support


@pytest.fixture
def terminal_dir(tmp_path: Path, identity: Identity) -> Path:
    directory = tmp_path / "terminal"
    identity.save(directory)
    return directory


def test_status_report_rejections_verify(
    terminal_dir: Path, identity: Identity, sync: SyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    path = terminal_dir / "journal.sqlite3"
    with Journal(path, identity) as journal:
        tid = identity.terminal_id
        journal.append("top_up", support.cash(tid, 1000))
        journal.append("top_up", {**support.cash(tid, 1000), "unit": "Z-9999"})  # refused
        SyncClient(journal, sync.client).sync_once()
        journal.append("top_up", support.cash(tid, 500))  # pending
    args = ["--dir", str(terminal_dir)]
    assert cli.main([*args, "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["backlog"] == 1
    assert status["rejections"] == 1
    assert status["synced_seq"] == 2
    assert cli.main([*args, "status"]) == 0
    assert "backlog         1 entries" in capsys.readouterr().out
    assert cli.main([*args, "rejections"]) == 0
    rejected = capsys.readouterr().out.split()
    assert rejected[:2] == ["2", "top_up"]
    today = datetime.now(UTC).date().isoformat()
    assert cli.main([*args, "report", "--day", today, "--tz", "UTC"]) == 0
    day = json.loads(capsys.readouterr().out)
    assert day["entries"] == 3
    assert day["totals"]["top_up"] == {"journal": 2500, "applied": 1000, "entries": 3}
    assert [(d["seq"], d["state"]) for d in day["differences"]] == [
        (2, "rejected"),
        (3, "pending"),
    ]
    assert cli.main([*args, "verify"]) == 0
    assert "chain intact: 3 entries" in capsys.readouterr().out


def test_status_without_a_journal(terminal_dir: Path) -> None:
    assert cli.main(["--dir", str(terminal_dir), "status"]) == 1


def test_a_terminal_not_enrolled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--dir", str(tmp_path), "status"]) == 1
    assert "enrol it first" in capsys.readouterr().err
