"""The payment provider's request signature, shared by the kiosk, the server and the sandbox.

HMAC-SHA256 under the secret the provider and the estate share, over
``<timestamp>.<nonce>.<body>``: callbacks from the provider and the merchant's
signed calls to it (refunds) use the same scheme.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time


def sign(secret: bytes, body: bytes, timestamp: int, nonce: str) -> str:
    message = f"{timestamp}.{nonce}.".encode() + body
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def signed_headers(secret: bytes, body: bytes, *, now: float | None = None) -> dict[str, str]:
    timestamp, nonce = int(time.time() if now is None else now), secrets.token_hex(12)
    return {
        "Content-Type": "application/json",
        "X-Timestamp": str(timestamp),
        "X-Nonce": nonce,
        "X-Signature": sign(secret, body, timestamp, nonce),
    }
