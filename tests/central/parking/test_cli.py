"""``prepaid central parking``: the renewal job and the review list, as cron runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.central.test_cli import run


def test_the_renewal_job_runs_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'estate.sqlite3'}"
    assert run(url, "init", "--name", "Park Court", "--password", "long enough pw").returncode == 0
    renewed = run(url, "parking", "renew", "--at", "2026-11-25T09:00:00+08:00")
    assert renewed.returncode == 0, renewed.stderr
    assert json.loads(renewed.stdout) == {"renewed": 0, "reminded": 0, "failed": 0, "lapsed": 0}
    assert run(url, "parking", "renew", "--at", "2026-11-25T09:00:00").returncode == 2
    reviews = run(url, "parking", "reviews")
    assert reviews.returncode == 0, reviews.stderr
    assert reviews.stdout == ""
