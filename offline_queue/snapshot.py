"""The terminal's copy of what it needs to decide alone, pulled by version, encrypted at rest.

The server sends a complete snapshot the first time and only the changes after
(``since`` = the version held). Every value in it is absolute, so merging a
change twice is harmless. It holds credentials as keyed hashes mapped to unit
codes, revocations, the available money of the wallets this terminal serves,
fees, passes, the configuration's offline limits, and ``journal_head``: the
balances already count every entry of this terminal's journal up to it.

At rest it is AES-256-GCM encrypted under a key derived (HKDF) from the
terminal's private key, in the journal's SQLite file: a copy of the file alone
shows nothing.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from domain import journal as dj
from offline_queue.client import SignedClient
from offline_queue.errors import JournalCorrupt
from offline_queue.journal import Journal

log = logging.getLogger("offline_queue.snapshot")

SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshot (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL
);
"""
_AAD = b"prepaid snapshot v1"


@dataclass(frozen=True)
class Snapshot:
    """A decrypted snapshot: look-ups for the authoriser."""

    data: dict[str, Any]

    @property
    def version(self) -> int:
        return int(self.data.get("version", 0))

    @property
    def journal_head(self) -> int:
        return int(self.data.get("journal_head", 0))

    @property
    def limits(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.data.get("offline_limits", {}).items()}

    @property
    def timezone(self) -> str:
        return str(self.data.get("timezone", "UTC"))

    def credential_hash(self, kind: str, value: str) -> str:
        return dj.credential_hash(str(self.data["hash_key"]), kind, value)

    def is_revoked(self, digest: str) -> bool:
        return digest in set(self.data.get("revoked", []))

    def unit_of(self, digest: str) -> str | None:
        found = self.data.get("credentials", {}).get(digest)
        return None if found is None else str(found["unit"])

    def available(self, unit: str, purpose: str) -> int | None:
        value = self.data.get("balances", {}).get(unit, {}).get(purpose)
        return None if value is None else int(value)

    def parking_pass(self, plate: str, day: str) -> dict[str, Any] | None:
        """The pass valid on ``day`` (ISO) for this plate, or for any plate of its unit.

        A plate is a low-assurance credential: the gate app decides what a match may
        open; this only finds the pass."""
        held = self.data.get("passes", {})
        found = held.get(self.credential_hash("plate", plate))
        unit = self.unit_of(self.credential_hash("plate", plate))
        if found is None and unit is not None:
            found = held.get(f"unit:{unit}")
        if found is not None and found["valid_from"] <= day <= found["valid_until"]:
            return dict(found)
        return None


def merge(held: dict[str, Any] | None, change: dict[str, Any]) -> dict[str, Any]:
    """Apply a snapshot (complete or a change) to the one held."""
    if held is None or change.get("full"):
        out = dict(change)
        out["revoked"] = sorted(set(change.get("revoked", [])))
        return out
    out = dict(held)
    for key, value in change.items():
        if key not in ("credentials", "revoked", "balances"):
            out[key] = value
    credentials = dict(held.get("credentials", {}))
    revoked = set(held.get("revoked", []))
    for digest, entry in change.get("credentials", {}).items():
        credentials[digest] = entry
        revoked.discard(digest)  # reinstated (a found card)
    for digest in change.get("revoked", []):
        credentials.pop(digest, None)
        revoked.add(digest)
    balances = {unit: dict(wallets) for unit, wallets in held.get("balances", {}).items()}
    for unit, wallets in change.get("balances", {}).items():
        balances.setdefault(unit, {}).update(wallets)
    out.update(credentials=credentials, revoked=sorted(revoked), balances=balances)
    return out


class SnapshotStore:
    """The encrypted snapshot in the journal's file."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.conn = journal.conn
        self.conn.executescript(SCHEMA)
        self._aead = AESGCM(
            HKDF(
                algorithm=hashes.SHA256(),
                length=32,
                salt=None,
                info=b"prepaid snapshot key v1",
            ).derive(journal.identity.raw_private())
        )

    def load(self) -> Snapshot | None:
        row = self.conn.execute("SELECT nonce, ciphertext FROM snapshot WHERE id = 1").fetchone()
        if row is None:
            return None
        try:
            plain = self._aead.decrypt(row[0], row[1], _AAD)
        except InvalidTag as err:
            raise JournalCorrupt("the stored snapshot does not decrypt: altered") from err
        return Snapshot(json.loads(plain))

    def save(self, data: dict[str, Any]) -> None:
        nonce = os.urandom(12)
        ciphertext = self._aead.encrypt(nonce, json.dumps(data).encode(), _AAD)
        self.conn.execute(
            "INSERT INTO snapshot (id, version, nonce, ciphertext) VALUES (1, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET version = excluded.version, nonce = excluded.nonce, "
            "ciphertext = excluded.ciphertext",
            (int(data.get("version", 0)), nonce, ciphertext),
        )

    def apply(self, change: dict[str, Any]) -> Snapshot:
        held = self.load()
        merged = merge(None if held is None else held.data, change)
        self.save(merged)
        return Snapshot(merged)

    def pull(self, client: SignedClient) -> Snapshot:
        """Fetch what changed since the version held, merge it, store it encrypted."""
        held = self.load()
        since = 0 if held is None else held.version
        path = f"{dj.snapshot_path(self.journal.identity.terminal_id)}?since={since}"
        change = client.call("GET", path).json()
        snapshot = self.apply(change)
        log.info(
            "snapshot pulled",
            extra={
                "terminal": self.journal.identity.terminal_id,
                "version": snapshot.version,
                "full": bool(change.get("full")),
                "credentials": len(change.get("credentials", {})),
                "revoked": len(change.get("revoked", [])),
            },
        )
        return snapshot
