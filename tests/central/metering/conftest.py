"""Metering fixtures: tariffs, meters and a service on a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from central.db.database import Database
from central.estate import settings as estate_settings
from central.ledger.operations import Context, top_up
from central.metering import registry
from central.metering.service import MeteringService
from domain.metering_messages import Reading
from domain.tariffs import Tariff, TariffKind, Tier

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


ELECTRICITY = Tariff(
    code="elec",
    utility="electricity",
    effective_from=datetime(2026, 1, 1, tzinfo=UTC),
    kind=TariffKind.FLAT,
    price=Decimal("0.6173"),
)
WATER = Tariff(
    code="water",
    utility="water",
    effective_from=datetime(2026, 1, 1, tzinfo=UTC),
    kind=TariffKind.TIERED,
    tiers=(Tier(Decimal(20), Decimal("3.45")), Tier(None, Decimal("4.83"))),
)
GAS = Tariff(
    code="gas",
    utility="gas",
    effective_from=datetime(2026, 1, 1, tzinfo=UTC),
    kind=TariffKind.FLAT,
    price=Decimal("3.03"),
)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def service(db: Database, clock: Clock) -> Iterator[MeteringService]:
    with db.write() as conn:
        for tariff in (ELECTRICITY, WATER, GAS):
            registry.add_tariff(conn, tariff)
        start = T0 - timedelta(days=1)
        registry.add_meter(
            conn,
            serial="E-1",
            unit="A-0101",
            utility="electricity",
            tariff="elec",
            installed_at=start,
            digits=5,
        )
        registry.add_meter(
            conn, serial="W-1", unit="A-0101", utility="water", tariff="water", installed_at=start
        )
        registry.add_meter(
            conn,
            serial="G-1",
            unit="A-0101",
            utility="gas",
            tariff="gas",
            installed_at=start,
            power="battery",
            wake_interval_s=3600,
        )
    svc = MeteringService(db, clock=clock)
    yield svc
    svc.stop()


def pay(db: Database, unit: str, purpose: str, amount: int, key: str) -> None:
    with db.write() as conn:
        estate = estate_settings.load(conn)
        top_up(
            conn,
            Context(estate=estate, idempotency_key=key, actor="staff:test"),
            unit=unit,
            purpose=purpose,
            amount=amount,
            currency="CNY",
            method="staff_desk",
        )


def reading(serial: str, at: datetime, value: str, **kw: object) -> Reading:
    return Reading(serial, at, Decimal(value), **kw)  # type: ignore[arg-type]
