"""``prepaid turnstile run``: a settings file, simulated devices, a clean stop on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gate.cli import turnstile_main
from gate.turnstile.config import ConfigError, TurnstileConfig
from tests.gate.turnstile.conftest import snapshot

ROOT = Path(__file__).resolve().parents[3]


def write_config(tmp_path: Path, **over: object) -> Path:
    identity = pytest.importorskip("offline_queue.identity")
    identity.Identity.generate("turnstile-gym-1").save(tmp_path / "terminal")
    (tmp_path / "snapshot.json").write_text(json.dumps(snapshot()))
    config = {
        "terminal_id": "turnstile-gym-1",
        "facility": {"code": "gym", "name": "Gym", "kind": "gym", "price": "15.00"},
        "relay": {"url": "sim://relay-board", "channel": 1},
        "readers": {"uid": "sim://uid-reader", "qr": "sim://qr-scanner"},
        "terminal_dir": str(tmp_path / "terminal"),
        "journal": str(tmp_path / "journal.sqlite3"),
        "snapshot": str(tmp_path / "snapshot.json"),
        **over,
    }
    path = tmp_path / "turnstile.json"
    path.write_text(json.dumps(config))
    return path


@pytest.mark.parametrize("server", ["", "http://127.0.0.1:9"])
def test_run_starts_and_stops_cleanly(tmp_path: Path, server: str) -> None:
    # With a server that does not answer, the uplink fails quietly: offline, not down.
    config = write_config(tmp_path, server=server, sync_s=0.2)
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "turnstile", "run", "--config", str(config)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "turnstile-gym-1 at Gym: ready" in line, line
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert (tmp_path / "journal.sqlite3").exists()


def test_bad_settings_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, relay={})
    with pytest.raises(ConfigError, match=r"relay\.url"):
        TurnstileConfig.load(config)
    assert turnstile_main(["run", "--config", str(config)]) == 2
    assert "relay.url" in capsys.readouterr().out
    bad = write_config(tmp_path, facility={"code": "gym", "pricing": "free"})
    with pytest.raises(ConfigError, match="facility"):
        TurnstileConfig.load(bad)


def test_the_facility_block_is_what_the_server_answers(tmp_path: Path) -> None:
    # GET /v1/facilities/gym, pasted as it is.
    served: dict[str, object] = {
        "code": "gym",
        "name": "Gym",
        "kind": "gym",
        "pricing": "per_use",
        "price": "15.00",
        "rate_per_minute": None,
        "max_minutes": None,
        "minimum_minutes": 1,
        "grace_s": 0,
        "hours": {"mon": ["06:00-22:00"], "tue": ["06:00-22:00"]},
        "allow_low_assurance": True,
        "low_assurance_daily_cap": 3000,
        "passback_timeout_s": 600,
        "in_service": True,
        "service": "facility.gym",
        "pass_products": [],
    }
    config = TurnstileConfig.load(write_config(tmp_path, facility=served))
    assert config.facility.service == "facility.gym"
    assert config.facility.low_assurance_daily_cap == 3000
    assert config.passback_timeout_s == 600
    assert config.facility.hours.to_spec() == served["hours"]


def test_qr_token_key_must_be_hex() -> None:
    from gate.cli import qr_verifier

    assert qr_verifier("") is None
    assert qr_verifier("00ff") is not None
    with pytest.raises(ConfigError, match="hex"):
        qr_verifier("not hex")
