"""Meters and tariffs for the demo estate: three meters a unit, a realistic mix.

Electricity is priced like mainland residential power (annual tiers; every third
flat has a time-of-use meter with peak and valley registers), water by monthly
tiers, gas at a flat price with a small daily standing charge. Gas meters and one
in four water meters run on batteries and wake hourly.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

from sqlalchemy import Connection, select

from central.db.schema import units
from central.metering import registry
from domain.tariffs import Tariff, TariffKind, Tier, TierPeriod, Window

EFFECTIVE = datetime(2026, 1, 1, tzinfo=UTC)

TARIFFS = (
    Tariff(
        "elec-tiered",
        "electricity",
        EFFECTIVE,
        TariffKind.TIERED,
        tiers=(
            Tier(Decimal(2760), Decimal("0.617")),
            Tier(Decimal(4800), Decimal("0.667")),
            Tier(None, Decimal("0.917")),
        ),
        tier_period=TierPeriod.ANNUAL,
    ),
    Tariff(
        "elec-tou",
        "electricity",
        EFFECTIVE,
        TariffKind.TIME_OF_USE,
        rates={"peak": Decimal("0.617"), "valley": Decimal("0.307")},
        windows=(Window(time(22), time(6), "valley"),),
        default_rate="peak",
    ),
    Tariff(
        "water",
        "water",
        EFFECTIVE,
        TariffKind.TIERED,
        tiers=(
            Tier(Decimal(18), Decimal("3.45")),
            Tier(Decimal(25), Decimal("4.83")),
            Tier(None, Decimal("5.83")),
        ),
    ),
    Tariff(
        "gas",
        "gas",
        EFFECTIVE,
        TariffKind.FLAT,
        price=Decimal("3.03"),
        standing_daily=Decimal("0.1"),
    ),
)


def meter_serials(unit: str) -> dict[str, str]:
    return {"electricity": f"E-{unit}", "water": f"W-{unit}", "gas": f"G-{unit}"}


def seed(conn: Connection, *, installed_at: datetime, transport: str = "http") -> int:
    """Register the demo tariffs and three meters for every unit; returns the meter count."""
    for tariff in TARIFFS:
        registry.add_tariff(conn, tariff)
    count = 0
    codes = [r.code for r in conn.execute(select(units.c.code).order_by(units.c.code))]
    for i, unit in enumerate(codes):
        serials = meter_serials(unit)
        tou = i % 3 == 0
        registry.add_meter(
            conn,
            serial=serials["electricity"],
            unit=unit,
            utility="electricity",
            tariff="elec-tou" if tou else "elec-tiered",
            has_rate_registers=tou,
            transport=transport,
            installed_at=installed_at,
        )
        registry.add_meter(
            conn,
            serial=serials["water"],
            unit=unit,
            utility="water",
            tariff="water",
            power="battery" if i % 4 == 0 else "mains",
            transport=transport,
            installed_at=installed_at,
        )
        registry.add_meter(
            conn,
            serial=serials["gas"],
            unit=unit,
            utility="gas",
            tariff="gas",
            power="battery",
            transport=transport,
            installed_at=installed_at,
        )
        count += 3
    return count
