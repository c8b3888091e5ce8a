"""The ``prepaid`` dispatcher imports a sub-command's package only when it is called."""

from __future__ import annotations

import subprocess
import sys

from cli.main import SUBCOMMANDS, main


def test_help_lists_every_subcommand(capsys: object) -> None:
    assert main([]) == 2
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    for name in SUBCOMMANDS:
        assert name in out


def test_subcommands_import_lazily() -> None:
    probe = (
        "import sys; from cli.main import main\n"
        "try:\n    main(['central', '--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('kivy', 'cv2', 'smartcard', 'serial', 'onnxruntime')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print(','.join(heavy) or 'none')"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "none"
    bare = subprocess.run(
        [sys.executable, "-c", "import sys, cli.main; print('fastapi' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert bare.stdout.strip() == "False"


def test_unknown_subcommand_exits_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "nope"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
