"""``prepaid provision doctor``: every device green on the simulators, and a clear
failure, with what to do, when one is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioning import doctor
from provisioning.cli import main
from provisioning.identity import Identity, TerminalFiles

SIMULATED = {
    "bill_acceptor": "sim://bill-acceptor",
    "coin_acceptor": "sim://coin-acceptor",
    "receipt_printer": "sim://printer",
}


def configured(tmp_path: Path, devices: dict[str, str]) -> list[str]:
    """A terminal directory whose applied configuration names ``devices``."""
    files = TerminalFiles(tmp_path)
    files.save(
        Identity(
            server="http://127.0.0.1:9",
            terminal_id="kiosk-001",
            terminal_type="kiosk",
            location="Lobby",
            key_id="k",
            config_version=4,
            config={"devices": devices},
        )
    )
    files.key_path.write_text("not used by doctor")
    return ["--dir", str(tmp_path)]


def test_all_green_against_the_simulators(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*configured(tmp_path, SIMULATED), "doctor"]) == 0
    out = capsys.readouterr().out
    assert "3 of 3 devices OK" in out
    for name, url in SIMULATED.items():
        assert f"OK   {name}" in out
        assert url in out
    assert "bill acceptor (ID-003)" in out


def test_a_missing_device_fails_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    devices = {**SIMULATED, "bill_acceptor": "serial:///dev/ttyUSB9?baud=9600"}
    assert main([*configured(tmp_path, devices), "doctor"]) == 1
    out = capsys.readouterr().out
    assert "2 of 3 devices OK, 1 FAILED" in out
    line = next(x for x in out.splitlines() if x.startswith("FAIL"))
    assert "bill_acceptor" in line
    assert "/dev/ttyUSB9" in line
    assert "what to do: the port does not exist: check the USB cable" in out

    assert main([*configured(tmp_path, devices), "doctor", "--json"]) == 1
    checks = json.loads(capsys.readouterr().out)
    failed = [c for c in checks if not c["ok"]]
    assert [c["name"] for c in failed] == ["bill_acceptor"]
    assert failed[0]["advice"]


def test_ad_hoc_devices_and_unknown_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--device", "printer=sim://printer"]) == 0
    assert "1 of 1 devices OK" in capsys.readouterr().out
    check = doctor.check_device("fog_machine", "serial:///dev/ttyS0")
    assert not check.ok
    assert "no self-test" in check.reason
    assert "bill_acceptor" in check.advice
    assert doctor.kind_of("bill_acceptor_2", "serial:///dev/ttyUSB1") == "bill-acceptor"
    assert doctor.kind_of("cash", "sim://coin-acceptor") == "coin-acceptor"
    assert doctor.kind_of("reader", "pcsc://ACS ACR1252 1S CL Reader PICC 0") == "card-reader"


def test_no_devices_configured_says_how_to_add_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*configured(tmp_path, {}), "doctor"]) == 0
    assert "config set devices.NAME=URL" in capsys.readouterr().out


def test_not_enrolled_says_what_to_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--dir", str(tmp_path / "none"), "doctor"]) == 1
    assert "prepaid provision enroll" in capsys.readouterr().err
