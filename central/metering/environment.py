"""What pricing and supply need besides the readings: the estate, tariffs, policies, holidays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection

from central.estate.settings import Estate
from central.metering import registry


@dataclass(frozen=True, slots=True)
class Environment:
    """What pricing and supply need besides the readings; load once with :func:`environment`."""

    estate: Estate
    tariffs: dict[str, list[Any]]
    policies: dict[str, registry.Policy]
    holidays: frozenset[date]


def environment(conn: Connection, estate: Estate) -> Environment:
    return Environment(
        estate,
        registry.load_tariffs(conn),
        registry.load_policies(conn),
        registry.load_holidays(conn),
    )
