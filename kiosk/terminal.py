"""The kiosk as an enrolled terminal: its identity lives in its state directory.

A technician enrols the kiosk like any terminal (``prepaid provision --dir DIR
enroll --type kiosk --code CODE``, or :func:`enrol` here with the manager's one-time code): the key
pair is made on the kiosk, the server keeps the public key, and the directory
holds ``terminal.json`` (id, server) and ``terminal.key``. Every request the
kiosk makes and every journal entry it writes is signed with that key.
"""

from __future__ import annotations

import json
from pathlib import Path

from offline_queue.identity import Identity


class NotEnrolled(RuntimeError):
    """The state directory holds no enrolled identity: enrol the kiosk first."""


def load(state_dir: str | Path) -> tuple[Identity, str]:
    """(the kiosk's identity, the server it enrolled with)."""
    directory = Path(state_dir)
    if not (directory / "terminal.json").exists():
        raise NotEnrolled(
            f"no terminal identity in {directory}: enrol this kiosk first "
            f"(prepaid provision --dir {directory} enroll --type kiosk --code CODE)"
        )
    server = str(json.loads((directory / "terminal.json").read_text()).get("server", ""))
    return Identity.from_terminal_dir(directory), server


def enrol(state_dir: str | Path, *, server: str, code: str, force: bool = False) -> Identity:
    """Spend ``code`` (made by a manager for a kiosk) on a key pair made here; ``force``
    enrols again over an old identity (kept as ``*.old``)."""
    from provisioning.enrolment import enrol as provision_enrol
    from provisioning.identity import TerminalFiles

    provision_enrol(
        TerminalFiles(state_dir), server=server, code=code, terminal_type="kiosk", force=force
    )
    return load(state_dir)[0]
