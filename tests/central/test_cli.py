"""``prepaid central``: init, seed-demo, check, statement, token, as a person runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

from central.db.database import Database


def run(db_url: str, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREPAID_DATABASE_URL": db_url, "PREPAID_LOG_LEVEL": "WARNING"}
    env.pop("PREPAID_STAFF_PASSWORD", None)
    if password is not None:
        env["PREPAID_STAFF_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "central", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_init_seed_check_statement_and_a_broken_balance(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'estate.sqlite3'}"
    init = run(url, "init", "--name", "Cli Court", "--password", "long enough pw")
    assert init.returncode == 0, init.stderr
    assert "Cli Court" in init.stdout
    again = run(url, "init", "--name", "Cli Court", "--password", "long enough pw")
    assert again.returncode == 1
    assert "estate_exists" in again.stderr

    demo_url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    seeded = run(demo_url, "seed-demo")
    assert seeded.returncode == 0, seeded.stderr
    assert "48 units" in seeded.stdout
    checked = run(demo_url, "check")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip().endswith("equals its postings")

    # Statement dates are the estate's local dates (the demo estate is in Shanghai).
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    statement = run(demo_url, "statement", "A-0101", "electricity", "--from", today, "--to", today)
    assert statement.returncode == 0, statement.stderr
    assert "opening balance" in statement.stdout
    assert "top_up" in statement.stdout
    unknown = run(demo_url, "statement", "Z-1", "electricity", "--from", today, "--to", today)
    assert unknown.returncode == 1
    assert "unknown_unit" in unknown.stderr

    # Someone edits a cached balance behind the ledger's back: check must say so.
    db = Database.open(demo_url, migrate=False)
    with db.write() as conn:
        conn.execute(
            text("UPDATE accounts SET balance = balance + 1 WHERE code = 'wallet:A-0101:water'")
        )
    db.close()
    broken = run(demo_url, "check")
    assert broken.returncode == 1
    assert "balance_mismatch wallet:A-0101:water" in broken.stdout


def test_token_for_a_script(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'estate.sqlite3'}"
    assert run(url, "init", "--name", "T", "--password", "long enough pw").returncode == 0
    token = run(url, "token", "manager", password="long enough pw")
    assert token.returncode == 0, token.stderr
    assert len(token.stdout.strip()) > 30
    wrong = run(url, "token", "manager", password="wrong password")
    assert wrong.returncode == 1
    assert "bad_credentials" in wrong.stderr
    # No password and no terminal to ask at (stdin is not a tty here): refused, not hung.
    unasked = run(url, "token", "manager")
    assert unasked.returncode == 1
    assert "password_needed" in unasked.stderr
    # A password on the command line would show in every user's process list.
    assert run(url, "token", "manager", "--password", "long enough pw").returncode == 2
