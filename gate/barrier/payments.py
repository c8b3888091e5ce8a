"""QR payments at the exit: a payment request shown as a QR code, paid on the phone.

``PaymentProvider`` is the narrow interface the gate needs (make a request for an
amount, ask whether it is paid); ``SandboxProvider`` is the development provider:
its QR text names the request, and ``pay`` plays the driver's phone. A QR payment
needs the provider, so it needs the network: offline, the lane follows the
estate's rule (pay at the guard, or a ticket to pay later).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal, Protocol

Status = Literal["pending", "paid", "failed"]


@dataclass(frozen=True)
class PaymentRequest:
    reference: str
    amount: int  # minor units
    currency: str
    qr_text: str  # what the exit display renders as a QR code (segno)


class PaymentProvider(Protocol):
    name: str

    def request(self, *, amount: int, currency: str, memo: str) -> PaymentRequest: ...

    def status(self, reference: str) -> Status: ...


class SandboxProvider:
    """Payments that succeed when ``pay`` is called (or fail on ``decline``)."""

    name = "sandbox"

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._status: dict[str, Status] = {}

    def request(self, *, amount: int, currency: str, memo: str) -> PaymentRequest:
        if amount <= 0:
            raise ValueError("a payment request is for a positive amount")
        reference = f"sbx-{next(self._ids):06d}"
        self._status[reference] = "pending"
        qr = f"https://pay.sandbox.invalid/{reference}?amount={amount}&currency={currency}"
        return PaymentRequest(reference, amount, currency, qr)

    def status(self, reference: str) -> Status:
        return self._status.get(reference, "failed")

    def pay(self, reference: str) -> None:
        if self._status.get(reference) == "pending":
            self._status[reference] = "paid"

    def decline(self, reference: str) -> None:
        if self._status.get(reference) == "pending":
            self._status[reference] = "failed"
