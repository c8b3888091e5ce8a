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


@dataclass(frozen=True, slots=True)
class Principal:
    kind: str  # staff | terminal
    id: str  # the staff username or the terminal id
    role: Role

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.id}"
