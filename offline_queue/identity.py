"""The terminal's identity as the journal needs it: its id and its Ed25519 key.

The provisioning tools (issue 5) own enrolment and the key files; until their
terminal-side client lands this is the smallest piece the journal needs: a key
file holding the raw 32-byte private key (mode 0600), and the id it was enrolled
under.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from domain import signing


@dataclass(frozen=True)
class Identity:
    terminal_id: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        return signing.public_key_id(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)

    @classmethod
    def generate(cls, terminal_id: str = "") -> Identity:
        return cls(terminal_id, Ed25519PrivateKey.generate())

    @classmethod
    def from_raw(cls, terminal_id: str, raw: bytes) -> Identity:
        return cls(terminal_id, Ed25519PrivateKey.from_private_bytes(raw))

    def raw_private(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        return self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    def save(self, directory: Path) -> None:
        """``terminal_id`` and ``terminal.key`` (raw private key, 0600) in ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        key = directory / "terminal.key"
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self.raw_private())
        (directory / "terminal_id").write_text(self.terminal_id + "\n")

    @classmethod
    def from_terminal_dir(cls, directory: Path) -> Identity:
        """Read the provisioning tools' files: ``terminal.json`` and ``terminal.key``
        (PKCS#8 PEM)."""
        import json

        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        data = json.loads((directory / "terminal.json").read_text())
        key = load_pem_private_key((directory / "terminal.key").read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("terminal.key does not hold an Ed25519 private key")
        return cls(str(data["terminal_id"]), key)

    @classmethod
    def load(cls, directory: Path) -> Identity:
        return cls.from_raw(
            (directory / "terminal_id").read_text().strip(),
            (directory / "terminal.key").read_bytes(),
        )
