"""What the kiosk needs from the central server, as a narrow interface over HTTP.

The controller talks to a :class:`CentralGateway`; :class:`HttpCentral` is the
HTTP implementation against ``/v1``. Two seams are stop-gaps until the issues
that own them land, and plug in here without touching the controller:

- authentication: ``HttpCentral`` takes a ``signer`` that adds headers to each
  request; today a bearer token, later provisioning's Ed25519 signatures;
- credentials: the card directory is read from the registry export
  (``GET /v1/registry/credentials.csv``) and kept as keyed hashes; later it
  comes with the offline journal's snapshot.

Network trouble raises :class:`CentralUnavailable` (the kiosk goes offline and
keeps working); a refusal raises :class:`CentralRefused` with the server's code.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import requests


class GatewayError(Exception):
    """Base of the gateway's errors."""


class CentralUnavailable(GatewayError):
    """The server did not answer (network, timeout, 5xx): work offline, retry later."""


class CentralRefused(GatewayError):
    """The server answered no: the request itself is wrong (4xx). Not retried."""

    def __init__(self, message: str, *, code: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class WalletBalance:
    purpose: str
    currency: str
    balance: int
    available: int
    floor: int


@dataclass(frozen=True)
class Credential:
    unit: str
    kind: str
    value: str
    status: str


@dataclass(frozen=True)
class TopUpResult:
    transaction_id: str
    balance_after: int


@dataclass(frozen=True)
class OpenBill:
    bill_id: int
    period: str
    outstanding: int  # the whole bill still owed, late fee included
    due_on: str  # ISO date
    next_instalment: int | None  # what the next instalment costs; None: no plan


@dataclass(frozen=True)
class BillPaid:
    transaction_id: str
    paid: int
    remaining: int
    instalment: tuple[int, int] | None  # (seq, of)
    balance_after: int | None  # the paying wallet's balance, when paid from a wallet


class CentralGateway(Protocol):
    def health(self) -> None: ...

    def open_bills(self, unit: str) -> list[OpenBill]: ...

    def pay_bill(
        self, *, key: str, bill_id: int, unit: str, what: str, expected: int, method: str,
        source: str,
    ) -> BillPaid: ...  # fmt: skip

    def wallets(self, unit: str) -> list[WalletBalance]: ...

    def credentials(self) -> list[Credential]: ...

    def top_up(
        self,
        *,
        key: str,
        unit: str,
        wallet: str,
        amount: int,
        currency: str,
        method: str,
        source: str,
        memo: str,
    ) -> TopUpResult: ...


Signer = Callable[[str, str, bytes], Mapping[str, str]]  # method, path, body -> headers


def bearer(token: str) -> Signer:
    def sign(method: str, path: str, body: bytes) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {token}"} if token else {}

    return sign


class HttpCentral:
    """``CentralGateway`` over HTTP; one keep-alive session, short timeouts."""

    def __init__(self, base_url: str, *, signer: Signer, timeout: float = 3.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.signer = signer
        self.timeout = timeout
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    def _call(
        self, method: str, path: str, body: Any = None, *, key: str = "", raw: bool = False
    ) -> Any:
        data = b"" if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **self.signer(method, path, data)}
        if key:
            headers["Idempotency-Key"] = key
        try:
            answer = self.session.request(
                method, self.base_url + path, data=data or None, headers=headers,
                timeout=self.timeout,
            )  # fmt: skip
        except requests.RequestException as err:
            raise CentralUnavailable(f"{method} {path}: {err}") from err
        if answer.status_code >= 500:
            raise CentralUnavailable(f"{method} {path} answered {answer.status_code}")
        if answer.status_code >= 400:
            try:
                error = answer.json()["error"]
                code, message = str(error["code"]), str(error["message"])
            except (ValueError, KeyError, TypeError):
                code, message = "http_error", answer.text[:200]
            raise CentralRefused(
                f"{method} {path}: {message}", code=code, status=answer.status_code
            )
        return answer.text if raw else answer.json()

    def health(self) -> None:
        self._call("GET", "/v1/health")

    def wallets(self, unit: str) -> list[WalletBalance]:
        return [
            WalletBalance(
                purpose=w["purpose"],
                currency=w["currency"],
                balance=int(w["balance"]),
                available=int(w["available"]),
                floor=int(w["floor"]),
            )
            for w in self._call("GET", f"/v1/units/{unit}/wallets")
        ]

    def credentials(self) -> list[Credential]:
        text = self._call("GET", "/v1/registry/credentials.csv", raw=True)
        return [
            Credential(row["unit"], row["kind"], row["value"], row.get("status") or "active")
            for row in csv.DictReader(io.StringIO(text))
        ]

    def top_up(
        self,
        *,
        key: str,
        unit: str,
        wallet: str,
        amount: int,
        currency: str,
        method: str,
        source: str,
        memo: str,
    ) -> TopUpResult:
        body = {
            "unit": unit,
            "wallet": wallet,
            "amount": amount,
            "currency": currency,
            "method": method,
            "source": source,
            "memo": memo,
        }
        answer = self._call("POST", "/v1/ledger/top-ups", body, key=key)
        balance = answer["balances"][f"wallet:{unit}:{wallet}"]
        return TopUpResult(str(answer["transaction_id"]), int(balance))

    def open_bills(self, unit: str) -> list[OpenBill]:
        """The unit's open property-fee bills (the kiosk pays them from that wallet; a
        fund contribution, paid from the maintenance fund's, is not offered here)."""
        return [
            OpenBill(
                bill_id=int(b["bill_id"]),
                period=str(b["period"]),
                outstanding=int(b["outstanding"]),
                due_on=str(b["due_on"]),
                next_instalment=None
                if b.get("next_instalment") is None
                else int(b["next_instalment"]["amount"]),
            )
            for b in self._call("GET", f"/v1/fees/units/{unit}/bills")
            if b.get("kind") == "property_fee"
        ]

    def pay_bill(
        self, *, key: str, bill_id: int, unit: str, what: str, expected: int, method: str,
        source: str,
    ) -> BillPaid:  # fmt: skip
        body = {
            "what": what,
            "method": method,
            "source": source,
            "unit": unit,
            "expected": expected,
        }
        answer = self._call("POST", f"/v1/fees/bills/{bill_id}/payments", body, key=key)
        receipt = answer["receipt"]
        instalment = receipt.get("instalment")
        balance = answer["balances"].get(f"wallet:{unit}:property_fee")
        return BillPaid(
            transaction_id=str(answer["transaction_id"]),
            paid=int(receipt["paid"]),
            remaining=int(receipt["remaining"]),
            instalment=None if not instalment else (int(instalment["seq"]), int(instalment["of"])),
            balance_after=None if balance is None or method != "wallet" else int(balance),
        )
