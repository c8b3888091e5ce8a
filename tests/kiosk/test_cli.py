"""``prepaid kiosk walkthrough``: the demo's kiosk, in its own process as on a terminal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.kiosk.support import CentralServer


def test_the_walkthrough_credits_the_ledger_and_saves_each_screen(
    central: CentralServer, tmp_path: Path
) -> None:
    before = central.balance("A-0101", "electricity")
    # The manager makes a one-time code; the kiosk enrols with it and signs as itself.
    code = central.call(
        "POST", "/v1/terminals/enrolment-codes", {"terminal_type": "kiosk", "location": "Lobby"}
    )["code"]
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "kiosk", "walkthrough", "--server", central.base_url,
         f"--code={code}", "--dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "Amount   71.00 CNY" in done.stdout
    assert central.balance("A-0101", "electricity") == before + 7100
    shots = sorted(p.name for p in (tmp_path / "screenshots").glob("*.png"))
    assert shots == [
        "01-idle.png",
        "02-overview.png",
        "03-top-up.png",
        "04-cash-inserted.png",
        "05-receipt.png",
        "06-pin-pad.png",
        "07-technician.png",
        "08-technician-cassette-pulled.png",
    ]
    assert "cash box pulled: 1 x 20.00, 1 x 50.00 (70.00 CNY)" in done.stdout
