"""Enrolling this terminal with the server, and opening a signed client afterwards."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain import signing
from provisioning.client import SignedClient, refusal
from provisioning.errors import ProvisioningError, ServerRefused, ServerUnreachable
from provisioning.identity import Identity, TerminalFiles, public_bytes

# What the server's refusal codes mean to the technician holding the code.
ADVICE = {
    "unknown_code": "the code is not known to this server: check it and the server URL",
    "code_used": "the code was already used: ask the manager for a new one",
    "code_expired": "the code has expired: ask the manager for a new one",
    "wrong_terminal_type": "the code was made for another kind of terminal: ask for the right one",
}


def enrol(
    files: TerminalFiles,
    *,
    server: str,
    code: str,
    terminal_type: str | None = None,
    force: bool = False,
    timeout_s: float = 15.0,
) -> Identity:
    """Make a key pair here, spend ``code`` on it, write the terminal's identity."""
    scanned_code, scanned_server = signing.parse_qr_payload(code)
    server = (server or scanned_server or "").rstrip("/")
    if not server:
        raise ProvisioningError("give the server's URL (--server), or scan the QR code")
    if files.enrolled() and not force:
        current = files.load()
        raise ProvisioningError(
            f"this terminal is already enrolled as {current.terminal_id} with {current.server}; "
            "use --force to enrol it again (its old identity is kept as a backup)"
        )
    # The key exists on disk (0600) before it is sent anywhere: a lost answer can
    # be retried with the same key, and the server answers the same terminal.
    if files.next_key_path.exists():
        key = files.load_key(files.next_key_path)
    else:
        key = Ed25519PrivateKey.generate()
        files.save_key(key, files.next_key_path)
    public_key = public_bytes(key)
    body: dict[str, Any] = {
        "code": scanned_code,
        "public_key": signing.b64(public_key),
        "proof": signing.b64(key.sign(signing.enrolment_proof_message(scanned_code, public_key))),
    }
    if terminal_type:
        body["terminal_type"] = terminal_type
    try:
        response = requests.post(f"{server}/v1/terminals/enrol", json=body, timeout=timeout_s)
    except requests.RequestException as err:
        raise ServerUnreachable(f"no answer from {server}: {err}") from err
    if response.status_code >= 400:
        error = refusal(response)
        if error.code in ADVICE:
            files.next_key_path.unlink(missing_ok=True)
            raise ServerRefused(error.status, error.code, f"{error.message} ({ADVICE[error.code]})")
        raise error
    answer = response.json()
    if files.enrolled():
        for path in (files.identity_path, files.key_path):
            path.replace(path.with_name(path.name + ".old"))
    identity = Identity(
        server=server,
        terminal_id=answer["terminal_id"],
        terminal_type=answer["terminal_type"],
        location=answer["location"],
        key_id=answer["key_id"],
        config_version=answer["config_version"],
        config=answer["config"],
        clock_offset_s=0.0,
        enrolled_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    files.next_key_path.replace(files.key_path)
    files.save(identity)
    return identity


def open_client(files: TerminalFiles, **options: Any) -> tuple[Identity, SignedClient]:
    """The identity and a signed client that saves each clock correction it learns."""
    identity = files.load()

    def remember(offset: float) -> None:
        identity.clock_offset_s = round(offset, 3)
        files.save(identity)

    client = SignedClient(
        identity.server,
        terminal_id=identity.terminal_id,
        key=files.load_key(),
        key_id=identity.key_id,
        clock_offset_s=identity.clock_offset_s,
        on_clock_offset=remember,
        **options,
    )
    return identity, client
