"""The README's first command ends in ``prepaid demo``: it must work on a fresh directory."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path


def test_demo_walkthrough(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "demo",
            "--exit-after-walkthrough",
            "--port",
            str(port),
            "--dir",
            str(tmp_path / "demo"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "48 units" in result.stdout
    assert "electricity 416.00 CNY" in result.stdout
    assert "all balanced" in result.stdout
    assert "meter fleet: 144 simulated meters" in result.stdout
    assert "after the fleet's first readings" in result.stdout
    assert "curl -s -H 'Authorization: Bearer" in result.stdout


def test_demo_says_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.listen()
        result = subprocess.run(
            [sys.executable, "-m", "cli.main", "demo", "--port", str(port), "--dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert "in use" in result.stdout
