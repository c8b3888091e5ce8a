"""Key rotation with no gap in service.

1. A new key is made and saved beside the old one (``terminal.key.next``, 0600).
2. The server is told, in a request signed by the old key, with a proof signed by
   the new one. From then on the old key signs nothing new, but requests it signed
   before (in flight) still pass, and every journal entry it signed still verifies.
3. ``terminal.key.next`` replaces ``terminal.key``, and the client signs with it.

A crash between 2 and 3 is finished by the next ``rotate-key``: the server already
knows the next key, and the same rotation is answered again.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain import signing
from provisioning.client import SignedClient
from provisioning.identity import TerminalFiles, public_bytes


def rotate(files: TerminalFiles, client: SignedClient) -> str:
    """Rotate this terminal's key; answer the new key id."""
    identity = files.load()
    if files.next_key_path.exists():
        key = files.load_key(files.next_key_path)
        if _server_knows(client, identity.terminal_id, key):
            return _finish(files, client, key, signing.public_key_id(public_bytes(key)))
    else:
        key = Ed25519PrivateKey.generate()
        files.save_key(key, files.next_key_path)
    public_key = public_bytes(key)
    proof = key.sign(signing.rotation_proof_message(identity.terminal_id, public_key))
    answer = client.call(
        "POST",
        f"/v1/terminals/{identity.terminal_id}/keys",
        {"public_key": signing.b64(public_key), "proof": signing.b64(proof)},
    )
    return _finish(files, client, key, str(answer["key_id"]))


def _server_knows(client: SignedClient, terminal_id: str, key: Ed25519PrivateKey) -> bool:
    """Whether a request signed with ``key`` passes (a rotation done but not finished here)."""
    trial = SignedClient(
        client.server,
        terminal_id=terminal_id,
        key=key,
        key_id=signing.public_key_id(public_bytes(key)),
        clock_offset_s=client.clock_offset_s,
        clock=client.clock,
        session=client.session,
    )
    return trial.request("GET", f"/v1/terminals/{terminal_id}/config").status_code == 200


def _finish(files: TerminalFiles, client: SignedClient, key: Ed25519PrivateKey, key_id: str) -> str:
    files.next_key_path.replace(files.key_path)
    identity = files.load()  # the client may have saved a clock correction meanwhile
    identity.key_id = key_id
    files.save(identity)
    client.use_key(key, key_id)
    return key_id
