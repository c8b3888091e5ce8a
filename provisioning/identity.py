"""The terminal's identity on disk: ``terminal.json`` and its private key.

``<dir>/terminal.json``: server URL, terminal id, type, location, key id, clock
offset, the configuration it runs (version and content). ``<dir>/terminal.key``:
the Ed25519 private key, PKCS#8 PEM, mode 0600, never sent anywhere. The directory
is ``PREPAID_TERMINAL_DIR``, by default ``var/terminal``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provisioning.errors import NotEnrolled

DEFAULT_DIR = Path("var/terminal")


def terminal_dir(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get("PREPAID_TERMINAL_DIR") or DEFAULT_DIR)


@dataclass
class Identity:
    server: str
    terminal_id: str
    terminal_type: str
    location: str
    key_id: str
    config_version: int
    config: dict[str, Any] = field(default_factory=dict)
    clock_offset_s: float = 0.0  # add to the local clock to get the server's
    enrolled_at: str = ""


class TerminalFiles:
    """Reads and writes one terminal's identity directory; every write is atomic."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.dir = terminal_dir(directory)

    @property
    def identity_path(self) -> Path:
        return self.dir / "terminal.json"

    @property
    def key_path(self) -> Path:
        return self.dir / "terminal.key"

    @property
    def next_key_path(self) -> Path:
        return self.dir / "terminal.key.next"

    def enrolled(self) -> bool:
        return self.identity_path.exists() and self.key_path.exists()

    def load(self) -> Identity:
        if not self.enrolled():
            raise NotEnrolled(
                f"this terminal is not enrolled (nothing in {self.dir}): "
                "run 'prepaid provision enroll --server URL --code CODE'"
            )
        data = json.loads(self.identity_path.read_text())
        return Identity(**data)

    def save(self, identity: Identity) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        text = json.dumps(asdict(identity), indent=2, sort_keys=True) + "\n"
        _atomic_write(self.identity_path, text.encode(), mode=0o644)

    def load_key(self, path: Path | None = None) -> Ed25519PrivateKey:
        data = (path or self.key_path).read_bytes()
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise NotEnrolled(f"{path or self.key_path} is not an Ed25519 key")
        return key

    def save_key(self, key: Ed25519PrivateKey, path: Path | None = None) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _atomic_write(path or self.key_path, pem, mode=0o600)


def _atomic_write(path: Path, data: bytes, *, mode: int) -> None:
    """Write beside ``path`` (created with ``mode`` from the start), fsync, rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)  # the umask may have taken bits away
    os.replace(tmp, path)


def public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
