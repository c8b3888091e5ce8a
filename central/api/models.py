"""Request and answer bodies of the API. Amounts are integers in minor units."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

Amount = Annotated[StrictInt, Field(description="integer minor units (fen, cents); > 0")]
Text = Annotated[str, Field(max_length=400)]
Code = Annotated[str, Field(min_length=1, max_length=32)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TopUpIn(Body):
    unit: Code
    wallet: Code
    amount: Amount
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    method: Literal["cash", "provider", "staff_desk"]
    source: Annotated[str, Field(max_length=48)] = ""
    memo: Text = ""


class ChargeIn(Body):
    unit: Code
    wallet: Code
    amount: Amount
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    service: Annotated[str, Field(max_length=48)] | None = None
    memo: Text = ""


class TransferIn(Body):
    unit: Code
    from_wallet: Code
    to_wallet: Code
    amount: Amount
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    memo: Text = ""


class RefundIn(Body):
    unit: Code
    wallet: Code
    amount: Amount
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    method: Literal["provider", "staff_desk"]
    destination: Annotated[str, Field(max_length=48)] = ""
    memo: Text = ""


class ReversalIn(Body):
    transaction_id: Annotated[str, Field(min_length=1, max_length=32)]
    reason: Annotated[str, Field(min_length=1, max_length=400)]


class HoldIn(Body):
    unit: Code
    wallet: Code
    amount: Amount
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    service: Annotated[str, Field(min_length=1, max_length=48)]


class CaptureIn(Body):
    amount: Amount
    currency: Annotated[str, Field(min_length=3, max_length=3)]


class BatchEntry(Body):
    key: Annotated[str, Field(min_length=1, max_length=128)]
    # Checked per entry, so one unknown operation is one rejected entry, not a refused batch.
    operation: Annotated[str, Field(min_length=1, max_length=32)]
    body: dict[str, Any]


MAX_BATCH = 20_000


class BatchIn(Body):
    entries: Annotated[list[BatchEntry], Field(min_length=1, max_length=MAX_BATCH)]


class Verdict(BaseModel):
    key: str
    verdict: Literal["applied", "duplicate", "rejected"]
    code: str | None = None
    message: str | None = None
    result: dict[str, Any] | None = None


class BatchOut(BaseModel):
    applied: int
    duplicate: int
    rejected: int
    results: list[Verdict]


class TransactionOut(BaseModel):
    transaction_id: str
    kind: str
    created_at: str
    balances: dict[str, int]
    model_config = ConfigDict(extra="allow")


class HoldOut(BaseModel):
    hold_id: str
    kind: str
    wallet: str
    model_config = ConfigDict(extra="allow")


class WalletOut(BaseModel):
    wallet: str
    purpose: str
    currency: str
    balance: int
    held: int
    available: int
    floor: int


class UnitOut(BaseModel):
    code: str
    building: str
    number: str
    floor: int
    area_m2: Decimal
    kind: str


class StatementLineOut(BaseModel):
    transaction_id: str
    at: str
    kind: str
    memo: str
    amount: int
    balance: int


class StatementOut(BaseModel):
    wallet: str
    currency: str
    timezone: str
    period_from: date
    period_to: date
    opening: int
    closing: int
    lines: list[StatementLineOut]


class SiteIn(Body):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200)]
    address: Annotated[str, Field(max_length=400)] = ""


class BuildingIn(Body):
    site: Code
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200)]
    floors: StrictInt


class UnitIn(Body):
    building: Code
    number: Annotated[str, Field(min_length=1, max_length=16)]
    floor: StrictInt
    area_m2: Decimal
    kind: Literal["flat", "shop", "parking"] = "flat"


class ResidentIn(Body):
    unit: Code
    name: Annotated[str, Field(min_length=1, max_length=200)]
    phone: Annotated[str, Field(max_length=32)] | None = None
    email: Annotated[str, Field(max_length=254)] | None = None
    language: Annotated[str, Field(max_length=16)] = "en"
    role: Literal["owner", "tenant", "member"] = "owner"


class CredentialIn(Body):
    unit: Code
    kind: Literal["card", "plate", "qr"]
    value: Annotated[str, Field(min_length=2, max_length=64)]
    resident_id: Annotated[StrictInt, Field(ge=1, le=2**63 - 1)] | None = None


class CredentialStatusIn(Body):
    status: Literal["active", "lost", "revoked"]


class CreatedOut(BaseModel):
    id: int | str


class TokenIn(Body):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class StaffIn(Body):
    username: Annotated[str, Field(min_length=2, max_length=64)]
    password: Annotated[str, Field(min_length=10, max_length=256)]
    role: Literal["manager", "cashier", "technician", "auditor"]


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail


class CheckProblemOut(BaseModel):
    kind: str
    subject: str
    detail: str


class CheckOut(BaseModel):
    ok: bool
    transactions: int
    postings: int
    accounts: int
    problems: list[CheckProblemOut]


class EstateOut(BaseModel):
    name: str
    legal_name: str
    currency: str
    timezone: str
    locale: str
    emergency_credit: int


class HealthOut(BaseModel):
    status: Literal["ok"]
    server_time: str
    version: str


class AuditEntryOut(BaseModel):
    id: int
    at: str
    actor: str
    role: str
    action: str
    subject: str | None
    remote: str | None
    idempotency_key: str | None
    before: Any
    after: Any


class PhoneIn(Body):
    phone: Annotated[str, Field(min_length=6, max_length=32)]


class CodeIn(Body):
    phone: Annotated[str, Field(min_length=6, max_length=32)]
    code: Annotated[str, Field(min_length=4, max_length=12)]


class MeOut(BaseModel):
    resident_id: int
    unit: str


class UsageDayOut(BaseModel):
    wallet: str
    day: date
    charged: int


class MoveInIn(Body):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    phone: Annotated[str, Field(max_length=32)] | None = None
    email: Annotated[str, Field(max_length=254)] | None = None
    language: Annotated[str, Field(max_length=16)] = "en"
    role: Literal["owner", "tenant", "member"] = "owner"


class MoveOutIn(Body):
    resident_id: Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]
    refund_method: Literal["staff_desk", "provider"] = "staff_desk"
    refund_to: Annotated[str, Field(max_length=48)] = ""
    # The last register value of each of the unit's meters, when the household leaves.
    final_readings: Annotated[dict[str, str], Field(max_length=20)] = {}


class ImportOut(BaseModel):
    kind: str
    imported: int
