"""The server's client of the payment provider's merchant API: refunds and settlement files.

Every call is signed as the provider's callbacks are (:mod:`domain.provider_signature`):
a POST over its body, a GET over ``GET <path>``, so a captured request cannot be
replayed against another path.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import requests

from central.errors import Refused, Unavailable
from domain.provider_signature import signed_headers

DEFAULT_NAME = "sandbox"


class ProviderUnavailable(Unavailable):
    """The provider did not answer: nothing is posted; send the same request again."""

    code = "provider_unavailable"


class ProviderNotConfigured(Unavailable):
    """The server was started without a provider."""

    code = "provider_not_configured"


@dataclass
class ProviderApi:
    base_url: str
    secret: bytes
    name: str = DEFAULT_NAME  # the clearing account's name: ``clearing:<name>``
    timeout: float = 5.0

    @staticmethod
    def secret_from_env(env: Mapping[str, str] | None = None) -> bytes:
        """The shared secret alone: enough to check a settlement file read from disk."""
        e = os.environ if env is None else env
        try:
            secret = bytes.fromhex(e.get("PREPAID_PROVIDER_SECRET_HEX", ""))
        except ValueError as err:
            raise ProviderNotConfigured(
                "PREPAID_PROVIDER_SECRET_HEX is not hex: give the shared secret as hex digits"
            ) from err
        if not secret:
            raise ProviderNotConfigured(
                "set PREPAID_PROVIDER_SECRET_HEX (the secret shared with the provider): "
                "a settlement file is checked against the provider's signature"
            )
        return secret

    @staticmethod
    def name_from_env(env: Mapping[str, str] | None = None) -> str:
        e = os.environ if env is None else env
        return e.get("PREPAID_PROVIDER_NAME", DEFAULT_NAME)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ProviderApi:
        e = os.environ if env is None else env
        url, secret = e.get("PREPAID_PROVIDER_URL", ""), e.get("PREPAID_PROVIDER_SECRET_HEX", "")
        if not url or not secret:
            raise ProviderNotConfigured(
                "no payment provider is configured: set PREPAID_PROVIDER_URL and "
                "PREPAID_PROVIDER_SECRET_HEX (and PREPAID_PROVIDER_NAME, default "
                f"{DEFAULT_NAME!r}) for the server"
            )
        try:
            key = bytes.fromhex(secret)
        except ValueError as err:
            raise ProviderNotConfigured(
                "PREPAID_PROVIDER_SECRET_HEX is not hex: give the shared secret as hex digits"
            ) from err
        return cls(url.rstrip("/"), key, e.get("PREPAID_PROVIDER_NAME", DEFAULT_NAME))

    def _send(self, method: str, path: str, body: bytes) -> requests.Response:
        signed = body if method == "POST" else f"{method} {path}".encode()
        try:
            answer = requests.request(
                method,
                f"{self.base_url}{path}",
                data=body or None,
                headers=signed_headers(self.secret, signed),
                timeout=self.timeout,
            )
        except requests.RequestException as err:
            raise ProviderUnavailable(
                f"the payment provider did not answer {method} {path} ({type(err).__name__}); "
                "nothing was posted: send the same request again"
            ) from err
        if answer.status_code == 401:
            raise ProviderUnavailable(
                "the payment provider refused this server's signature: check that "
                "PREPAID_PROVIDER_SECRET_HEX is the secret the provider holds"
            )
        return answer

    def refund(self, *, refund_id: str, order_id: str, amount: int) -> dict[str, Any]:
        """Ask for the refund; the same refund id again answers the first result."""
        body = json.dumps(
            {"refund_id": refund_id, "order_id": order_id, "amount": amount}, sort_keys=True
        ).encode()
        answer = self._send("POST", "/refunds", body)
        try:
            data: dict[str, Any] = answer.json()
        except ValueError as err:
            raise ProviderUnavailable(
                f"the payment provider answered the refund with no JSON ({answer.status_code}); "
                "nothing was posted: send the same request again"
            ) from err
        if answer.status_code in (404, 409):
            raise Refused(
                f"the payment provider refused the refund: {data.get('error', answer.text)}",
                code="provider_refused",
            )
        if answer.status_code != 200 or data.get("status") != "refunded":
            raise ProviderUnavailable(
                f"the payment provider answered {answer.status_code} "
                f"({data.get('error', data.get('status', ''))}); nothing was posted: "
                "send the same request again"
            )
        return data

    def settlement_file(self, day: date) -> bytes:
        """The provider's settlement file of ``day``, as the bytes it signed."""
        answer = self._send("GET", f"/settlements/{day.isoformat()}", b"")
        if answer.status_code == 404:
            raise Refused(
                f"the payment provider has no settlement file for {day.isoformat()}: "
                "try again once the provider has published it",
                code="settlement_not_ready",
            )
        if answer.status_code != 200:
            raise ProviderUnavailable(
                f"the payment provider answered {answer.status_code} for the settlement "
                f"file of {day.isoformat()}: try again later"
            )
        return answer.content
