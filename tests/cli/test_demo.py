"""The README's first command ends in ``prepaid demo``: it must work on a fresh directory."""

from __future__ import annotations

import socket
import sqlite3
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
    # The cash collection: the kiosk's count of the pulled cassette (notes only), the
    # back office's count one 20 short, and what that posted.
    assert (
        "cash box pulled: 1 x 20.00, 1 x 50.00 (70.00 CNY); "
        "the coin box's 1.00 CNY is not part of it"
    ) in result.stdout
    assert "the kiosk counted 70.00 CNY (1 x 20.00 CNY, 1 x 50.00 CNY)" in result.stdout
    assert (
        "back office counted 50.00 CNY of the kiosk's 70.00 CNY: short by 20.00 CNY, "
        "posted to variance:cash; 50.00 CNY to clearing:bank"
    ) in result.stdout
    shots = tmp_path / "demo" / "kiosk" / "screenshots"
    assert (shots / "07-technician.png").stat().st_size > 0
    assert (shots / "08-technician-cassette-pulled.png").stat().st_size > 0
    db = sqlite3.connect(tmp_path / "demo" / "central.sqlite3")
    try:
        ((kiosk, status, expected, counted),) = db.execute(
            "SELECT terminal_id, status, expected_total, counted_total FROM cash_collections"
        ).fetchall()
        balances = dict(db.execute("SELECT code, balance FROM accounts").fetchall())
        recounts = db.execute(
            "SELECT previous_total, total, recounted_by FROM cash_recounts"
        ).fetchall()
    finally:
        db.close()
    assert (status, expected, counted) == ("counted", 7000, 5000)  # the first count, kept
    assert f"cash_box:{kiosk} +70.00 CNY, clearing:bank -50.00 CNY, variance:cash -20.00 CNY" in (
        result.stdout
    )
    # A second manager finds the note and corrects the count: the short is undone.
    assert (
        "staff:wu.min recounted collection 1 (the missing note was found stuck in the "
        "cassette): 50.00 CNY -> 70.00 CNY, now exact"
    ) in result.stdout
    assert "clearing:bank -20.00 CNY, variance:cash +20.00 CNY" in result.stdout
    assert recounts == [(5000, 7000, "staff:wu.min")]
    assert balances["variance:cash"] == 0
    assert balances["clearing:bank"] == -7000
    assert balances[f"cash_box:{kiosk}"] == -100  # the coin, still in the kiosk


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
