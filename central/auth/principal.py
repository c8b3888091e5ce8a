"""The authenticated caller of a request."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    MANAGER = "manager"
    CASHIER = "cashier"
    TECHNICIAN = "technician"
    AUDITOR = "auditor"
    TERMINAL = "terminal"
    RESIDENT = "resident"


@dataclass(frozen=True, slots=True)
class Principal:
    kind: str  # staff | terminal | resident
    id: str  # the staff username, the terminal id, or the resident's id
    role: Role
    remote: str | None = None  # the caller's address, for the audit log
    unit: str | None = None  # a resident's household: the only unit they may see

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.id}"
