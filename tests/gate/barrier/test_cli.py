"""``prepaid gate``: the demo on the simulators, and a settings file that says too little."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.barrier.app import ConfigError, GateConfig
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
