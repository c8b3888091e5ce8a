"""Residents' QR tokens and e-receipt tokens: short, signed, with no personal data.

A resident's app shows ``PPQ1.<unit>.<expiry>.<mac>``: the unit, a Unix expiry a
minute or two ahead and an HMAC-SHA256 under the estate's QR key, so a
screenshot stops working when it expires and a token is accepted once per kiosk
(a replay inside its lifetime is refused). Until the server verifies tokens
itself, the kiosk holds the key in its configuration.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field

PREFIX = "PPQ1"
MAX_LIFETIME_S = 300


def _mac(key: bytes, text: str) -> str:
    digest = hmac.new(key, text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def make_qr_token(key: bytes, unit: str, expires: int) -> str:
    """What the residents' app shows (and what the tests and the demo make)."""
    body = f"{PREFIX}.{unit}.{expires}"
    return f"{body}.{_mac(key, body)}"


@dataclass
class QrTokenVerifier:
    key: bytes
    _seen: dict[str, int] = field(default_factory=dict)

    def verify(self, text: str, now: float) -> tuple[str | None, str]:
        """(unit, "") for a good token, or (None, reason) with a message key."""
        parts = text.strip().split(".")
        # hmac.compare_digest refuses non-ASCII text; no token has any.
        if not text.isascii() or len(parts) != 4 or parts[0] != PREFIX:
            return None, "qr_unknown"
        if not (parts[2].isascii() and parts[2].isdigit()):  # "¹" is a digit int() refuses
            return None, "qr_unknown"
        body = ".".join(parts[:3])
        if not self.key or not hmac.compare_digest(_mac(self.key, body), parts[3]):
            return None, "qr_forged"
        expires = int(parts[2])
        if expires < now:
            return None, "qr_expired"
        if expires > now + MAX_LIFETIME_S:
            return None, "qr_forged"
        for seen, until in list(self._seen.items()):
            if until < now:
                del self._seen[seen]
        if text in self._seen:
            return None, "qr_replayed"
        self._seen[text] = expires
        return parts[1], ""


def ereceipt_token(key: bytes, terminal_id: str, seq: int) -> str:
    """The e-receipt's reference: terminal, sequence and a MAC; nothing about the person."""
    body = f"{terminal_id}-{seq:06d}"
    return f"{body}-{_mac(key, 'receipt:' + body)[:12]}"
