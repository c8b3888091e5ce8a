"""A terminal's journal entry, as both sides compute it: canonical bytes, hash, signature.

An entry is bound to its terminal, its place in the sequence and the entry before
it: ``hash = SHA-256(canonical([terminal_id, seq, entry_id, prev_hash,
terminal_ms, server_ms, kind, body]))``. The terminal signs each entry's hash with
its Ed25519 key; because every hash covers the one before it, one verified
signature on the last entry of a batch vouches for the whole chain up to it, so
the server verifies one signature per batch, not one per entry.

Pure: the keys and the Ed25519 arithmetic live with each side.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64
SIGNATURE_CONTEXT = b"prepaid journal v1\n"
# Entry kinds that move money map one to one onto ledger operations.
LEDGER_KINDS = frozenset({"top_up", "charge", "transfer", "refund", "reversal"})
# Kinds that move no money but are journalled all the same (a gate opened, a pass used).
EVENT_KINDS = frozenset(
    {
        "gate_open",
        "pass_use",
        "entry_refused",
        "note",
        "cash_open",  # a kiosk's cash session: the notes come as cash_in, the money
        "cash_in",  # as one top_up when it closes
        "cash_closed",
        "cash_collected",  # a kiosk cash box pulled: its count, per device and period
    }
)
KINDS = LEDGER_KINDS | EVENT_KINDS

VERDICTS = ("applied", "duplicate", "rejected")
# Fields a terminal adds to a money entry for its own bookkeeping (which credential,
# decided offline); the server takes them off before the ledger sees the body.
ANNOTATIONS = ("credential", "offline", "receipt")


def ledger_body(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ANNOTATIONS}


def canonical(value: Any) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8 (no floats in entries)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(
    *,
    terminal_id: str,
    seq: int,
    entry_id: str,
    prev_hash: str,
    terminal_ms: int,
    server_ms: int,
    kind: str,
    body: dict[str, Any],
) -> str:
    material = canonical(
        [terminal_id, seq, entry_id, prev_hash, terminal_ms, server_ms, kind, body]
    )
    return hashlib.sha256(material).hexdigest()


def signed_message(entry_hash_hex: str) -> bytes:
    """What the terminal's key signs for one entry."""
    return SIGNATURE_CONTEXT + entry_hash_hex.encode("ascii")


def ledger_key(terminal_id: str, seq: int) -> str:
    """The ledger's idempotency key of a journal entry: exactly once falls out of it."""
    return f"journal:{terminal_id}:{seq}"


@dataclass(frozen=True, slots=True)
class Entry:
    """One journal entry as it is stored on the terminal and sent over the wire."""

    seq: int
    entry_id: str
    prev_hash: str
    terminal_ms: int  # the terminal's own clock, unix milliseconds
    server_ms: int  # the terminal's estimate of the server's clock then
    kind: str
    body: dict[str, Any]
    hash: str
    key_id: str
    signature: str  # base64 Ed25519 over ``signed_message(hash)``

    def computed_hash(self, terminal_id: str) -> str:
        return entry_hash(
            terminal_id=terminal_id,
            seq=self.seq,
            entry_id=self.entry_id,
            prev_hash=self.prev_hash,
            terminal_ms=self.terminal_ms,
            server_ms=self.server_ms,
            kind=self.kind,
            body=self.body,
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "entry_id": self.entry_id,
            "prev_hash": self.prev_hash,
            "terminal_ms": self.terminal_ms,
            "server_ms": self.server_ms,
            "kind": self.kind,
            "body": self.body,
            "hash": self.hash,
            "key_id": self.key_id,
            "signature": self.signature,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Entry:
        return cls(
            seq=int(data["seq"]),
            entry_id=str(data["entry_id"]),
            prev_hash=str(data["prev_hash"]),
            terminal_ms=int(data["terminal_ms"]),
            server_ms=int(data["server_ms"]),
            kind=str(data["kind"]),
            body=dict(data["body"]),
            hash=str(data["hash"]),
            key_id=str(data["key_id"]),
            signature=str(data["signature"]),
        )


def journal_path(terminal_id: str) -> str:
    return f"/v1/terminals/{terminal_id}/journal"


def snapshot_path(terminal_id: str) -> str:
    return f"/v1/terminals/{terminal_id}/snapshot"


def credential_hash(hash_key_hex: str, kind: str, value: str) -> str:
    """A credential as a terminal's snapshot holds it: HMAC-SHA256 under the terminal's key.

    The terminal hashes what its reader gives and looks the hash up; the snapshot
    never holds the card number or the plate itself.
    """
    import hmac
    import re

    # The same normalisation as the server's registry: no spaces, dashes, dots; upper case.
    cleaned = re.sub(r"[\s\-·.]", "", value).upper()
    material = f"{kind}:{cleaned}".encode()
    return hmac.new(bytes.fromhex(hash_key_hex), material, hashlib.sha256).hexdigest()


# The kinds of terminal and the wallets each decides on offline.
SERVED_PURPOSES: dict[str, tuple[str, ...]] = {
    "kiosk": (
        "electricity",
        "water",
        "gas",
        "parking",
        "property_fee",
        "maintenance_fund",
        "services",
    ),
    "gate": ("parking",),
    "turnstile": ("services",),
    "meter-gateway": (),
}
# Changes are resent for this long before the version asked for: a transaction
# stamped just before a snapshot may commit just after it. Resending is harmless,
# every value in a snapshot is absolute.
SNAPSHOT_OVERLAP_MS = 60_000
