"""The server's ``TerminalVerifier``: who signed this request, and may they?

Checks, in order (each refusal is logged and writes nothing):

1. the headers parse and cover every component of ``domain.signing.COMPONENTS``;
2. the key is on file (401 ``unknown_key``);
3. the body matches ``Content-Digest`` (401 ``digest_mismatch``);
4. the Ed25519 signature verifies (401 ``bad_signature``);
5. ``created`` is within 5 minutes of the server's clock, else 401
   ``stale_timestamp`` naming the server's time (also in the ``Server-Time`` header);
6. a retired key signed the request before it retired (401 ``key_retired``);
7. the terminal is not revoked or past its decommission (401 ``key_dead``), and
   while decommissioning calls only journal paths (403 ``terminal_decommissioning``);
8. ``Terminal-Id`` and a ``/v1/terminals/<id>/`` path name the key's own terminal
   (403 ``terminal_mismatch``);
9. the nonce is new (401 ``replayed_nonce``); it is recorded in the same
   transaction, so of two copies racing only one passes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from central.auth.principal import Principal, Role
from central.db.types import utcnow
from central.errors import CentralError, Forbidden, Unauthorized
from central.terminals import lifecycle
from central.terminals.keys import load_public_key
from central.terminals.tables import terminal_keys, terminal_nonces, terminals
from domain import signing

log = logging.getLogger("central.terminals")

# A retired key's request may have been signed up to this long before the server
# recorded the rotation (whole-second ``created``, a terminal clock slightly off).
RETIRED_KEY_SLACK_S = 2
NONCE_KEEP = timedelta(seconds=2 * signing.MAX_SKEW_S)
# A path that names a terminal (``/v1/terminals/<id>/...``) must name the signer.
_PATH_TERMINAL = re.compile(r"^/v1/terminals/([^/]+)/")


def stale_message(created: int, now: datetime) -> str:
    off = created - now.timestamp()
    return (
        f"the request's timestamp is {abs(off):.0f} s {'ahead of' if off > 0 else 'behind'} "
        f"the server's clock (at most {signing.MAX_SKEW_S} s allowed); server time is "
        f"{now.isoformat(timespec='seconds')} = {now.timestamp():.3f}: correct the clock offset "
        "and sign again"
    )


class SignedRequestVerifier:
    """Checks a signed terminal request against the registry (see the module's doc)."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock

    def __call__(
        self,
        conn: Connection,
        *,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Principal:
        seen: dict[str, str] = {}
        try:
            return self._verify(
                conn, method=method, path=path, headers=headers, body=body, seen=seen
            )
        except CentralError as err:
            log.warning(
                "terminal request refused",
                extra={
                    "key_id": seen.get("key_id", "?"),
                    "terminal": seen.get("terminal", "?"),
                    "path": path,
                    "method": method,
                    "code": err.code,
                },
            )
            raise

    def _verify(
        self,
        conn: Connection,
        *,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        seen: dict[str, str],
    ) -> Principal:
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            params = signing.parse_signature_input(lowered.get("signature-input", ""))
            signature = signing.parse_signature(lowered.get("signature", ""))
        except signing.SignatureFormatError as err:
            raise Unauthorized(
                f"unreadable signature headers: {err}", code="bad_signature"
            ) from err
        seen["key_id"] = params.keyid
        missing = [c for c in signing.COMPONENTS if c not in params.components]
        if missing:
            raise Unauthorized(
                f"the signature must cover {', '.join(missing)}", code="bad_signature"
            )
        if params.alg != signing.ALGORITHM:
            raise Unauthorized("only ed25519 signatures are accepted", code="bad_signature")
        key = conn.execute(
            select(terminal_keys).where(terminal_keys.c.key_id == params.keyid)
        ).first()
        if key is None:
            raise Unauthorized(f"no terminal has the key {params.keyid!r}", code="unknown_key")
        digest = lowered.get("content-digest", "")
        if not signing.digest_matches(digest, body):
            raise Unauthorized("the body does not match its Content-Digest", code="digest_mismatch")
        try:
            base = signing.signature_base(method=method, path=path, headers=lowered, params=params)
            load_public_key(signing.unb64(key.public_key)).verify(signature, base)
        except (InvalidSignature, signing.SignatureFormatError) as err:
            raise Unauthorized("the signature does not verify", code="bad_signature") from err

        now = self.clock()
        if abs(params.created - now.timestamp()) > signing.MAX_SKEW_S:
            raise Unauthorized(stale_message(params.created, now), code="stale_timestamp")
        if key.retired_at is not None:
            retired = key.retired_at.timestamp() + RETIRED_KEY_SLACK_S
            if params.created > retired:
                raise Unauthorized(
                    "this key was replaced by a newer one; sign with the current key",
                    code="key_retired",
                )

        terminal_id = seen["terminal"] = str(key.terminal_id)
        status = conn.execute(
            select(terminals.c.status).where(terminals.c.id == terminal_id)
        ).scalar_one()
        if status in ("revoked", "decommissioned"):
            raise Unauthorized(f"terminal {terminal_id} is {status}", code="key_dead")
        if status == "decommissioning" and not lifecycle.is_journal_path(path):
            raise Forbidden(
                f"terminal {terminal_id} is being decommissioned: it may only upload its journal",
                code="terminal_decommissioning",
            )
        claimed = lowered.get("terminal-id", "").strip()
        named = _PATH_TERMINAL.match(path)
        if named is not None and named.group(1) != terminal_id:
            claimed = named.group(1)
        if claimed != terminal_id:
            raise Forbidden(
                f"this key belongs to {terminal_id}, not {claimed!r}", code="terminal_mismatch"
            )

        seen_at = now.astimezone(UTC)
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(terminal_nonces).values(
                        terminal_id=terminal_id, nonce=params.nonce, seen_at=seen_at
                    )
                )
        except IntegrityError as err:
            raise Unauthorized(
                "this nonce was already used: a replayed request", code="replayed_nonce"
            ) from err
        return Principal(kind="terminal", id=terminal_id, role=Role.TERMINAL)


def prune_nonces(conn: Connection, *, now: datetime | None = None) -> int:
    """Forget nonces older than any request the clock window still admits."""
    cutoff = (now or utcnow()) - NONCE_KEEP
    result = conn.execute(delete(terminal_nonces).where(terminal_nonces.c.seen_at < cutoff))
    return int(result.rowcount or 0)
