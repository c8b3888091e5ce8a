"""offline_queue never imports central, and central never imports offline_queue:
they meet in domain/ and over HTTP."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(package: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def test_offline_queue_and_central_meet_only_in_domain() -> None:
    assert "central" not in _imports("offline_queue")
    assert "offline_queue" not in _imports("central")
    assert not {"central", "offline_queue"} & _imports("domain")
