"""``prepaid gate``: the demo on the simulators, and a settings file that says too little."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.barrier.app import ConfigError, GateConfig, SealedSnapshot
from gate.barrier.cli import gate_main


def test_the_demo_runs_two_lanes_on_the_simulators(capsys: pytest.CaptureFixture[str]) -> None:
    assert gate_main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "in-1     opened" in out
    assert "out-1    opened" in out
    assert out.strip().splitlines()[-1].startswith("journal: gate_open")


def test_a_settings_file_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "gate.json"
    base = {
        "terminal_id": "gate-1",
        "relay": {"url": "sim://relay-board"},
        "journal": "j.sqlite3",
        "snapshot": "s.json",
        "lanes": [
            {"lane": "in-1", "direction": "entry", "relay": 1, "loop_input": 1, "camera": "sim://"}
        ],
    }
    path.write_text(json.dumps(base), encoding="utf-8")
    assert GateConfig.load(path).lanes[0]["lane"] == "in-1"
    base["lanes"][0]["direction"] = "sideways"  # type: ignore[index]
    path.write_text(json.dumps(base), encoding="utf-8")
    with pytest.raises(ConfigError):
        GateConfig.load(path)
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError):
        GateConfig.load(path)
    assert gate_main(["run", "--config", str(tmp_path / "missing.json")]) == 2


def test_the_gate_app_starts_on_the_simulators_and_stops_on_sigterm(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from offline_queue.identity import Identity

    identity = Identity.generate("gate-1")
    identity.save(tmp_path)
    snapshot = {"plates": {"ABC1D23": {"unit": "A-0101"}}, "tariffs": {}}
    SealedSnapshot(tmp_path / "snapshot.json", identity.raw_private()).save(snapshot)
    config = {
        "terminal_id": "gate-1",
        "terminal_dir": str(tmp_path),
        "journal": str(tmp_path / "journal.sqlite3"),
        "snapshot": str(tmp_path / "snapshot.json"),
        "relay": {"url": "sim://relay-board"},
        "lanes": [
            {"lane": "in-1", "direction": "entry", "relay": 1, "loop_input": 1, "camera": "sim://"},
            {"lane": "out-1", "direction": "exit", "relay": 2, "loop_input": 5, "camera": "sim://"},
        ],
    }
    (tmp_path / "gate.json").write_text(json.dumps(config), encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "gate", "run", "--config", str(tmp_path / "gate.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ},
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 90
        line = ""
        while time.monotonic() < deadline and "ready" not in line:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
        assert "gate gate-1: 2 lanes ready" in line
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert (tmp_path / "journal.sqlite3").is_file()


def test_the_snapshot_is_sealed_to_its_terminal(tmp_path: Path) -> None:
    from offline_queue.identity import Identity

    path = tmp_path / "snapshot.bin"
    mine, other = Identity.generate("gate-1"), Identity.generate("gate-2")
    SealedSnapshot(path, mine.raw_private()).save({"plates": {"<hash>": {"unit": "A-0101"}}})
    assert b"A-0101" not in path.read_bytes()
    assert SealedSnapshot(path, mine.raw_private()).load()["plates"]["<hash>"]["unit"] == "A-0101"
    with pytest.raises(ConfigError):
        SealedSnapshot(path, other.raw_private()).load()
