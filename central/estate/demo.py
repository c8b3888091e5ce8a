"""The demo estate: 2 buildings, 48 units, residents, cards, plates, opening balances.

Deterministic (a fixed random seed), so the demo and later tests can name its
units, cards and plates. Resident names, phones and e-mails are invented.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, select

from central.db.schema import units
from central.estate import registry
from central.estate.settings import Estate, create
from central.ledger.operations import Context, top_up
from domain.wallets import Purpose

DEMO_ESTATE = Estate(
    name="Harbour View Gardens",
    legal_name="Harbour View Property Management Co., Ltd.",
    tax_number="91310000MA1FL0001X",
    phone="+86 21 5555 0100",
    currency="CNY",
    timezone="Asia/Shanghai",
    locale="zh_CN",
    emergency_credit=2000,  # 20.00 CNY
)

FAMILY = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun"]
GIVEN = ["Wei", "Fang", "Min", "Jing", "Lei", "Yan", "Tao", "Hui", "Jun", "Ping", "Xin", "Ying"]
PROVINCES = "沪沪沪苏浙"


@dataclass(frozen=True, slots=True)
class DemoSummary:
    units: int
    residents: int
    cards: int
    plates: int
    opening_total: int


def demo_card_number(building: str, floor: int, door: int) -> str:
    """Card numbers the virtual card and the tests can reproduce."""
    return f"C{ord(building) - 64:01d}{floor:02d}{door:02d}"


def seed(conn: Connection) -> DemoSummary:
    """Create the demo estate in an empty database (inside the caller's transaction)."""
    rng = random.Random(20261125)
    create(conn, DEMO_ESTATE)
    registry.add_site(conn, code="hvg", name="Harbour View Gardens", address="88 Binjiang Road")
    residents = cards = plates = total = 0
    for building in ("A", "B"):
        registry.add_building(conn, site="hvg", code=building, name=f"Tower {building}", floors=12)
        for floor in range(1, 13):
            for door in (1, 2):
                number = f"{floor:02d}{door:02d}"
                area = Decimal(rng.choice(["68.50", "89.20", "105.00", "126.80"]))
                code = registry.add_unit(
                    conn, building=building, number=number, floor=floor, area_m2=area
                )
                name = f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}"
                resident = registry.add_resident(
                    conn,
                    unit=code,
                    name=name,
                    phone=f"+86 139{rng.randrange(10**8):08d}",
                    email=f"{name.lower().replace(' ', '.')}.{number}@example.com",
                    language=rng.choice(["zh_CN", "zh_CN", "en"]),
                )
                residents += 1
                registry.add_credential(
                    conn,
                    unit=code,
                    kind="card",
                    value=demo_card_number(building, floor, door),
                    resident_id=resident,
                )
                cards += 1
                if rng.random() < 0.7:
                    plate = (
                        f"{rng.choice(PROVINCES)}{rng.choice('ABCDE')}{rng.randrange(10**5):05d}"
                    )
                    registry.add_credential(
                        conn, unit=code, kind="plate", value=plate, resident_id=resident
                    )
                    plates += 1
                for purpose, low, high in (
                    (Purpose.ELECTRICITY, 50, 400),
                    (Purpose.WATER, 20, 150),
                    (Purpose.GAS, 20, 150),
                    (Purpose.SERVICES, 0, 100),
                ):
                    amount = rng.randrange(low, high + 1) * 100
                    if amount == 0:
                        continue
                    top_up(
                        conn,
                        Context(
                            estate=DEMO_ESTATE,
                            idempotency_key=f"demo-opening:{code}:{purpose.value}",
                            actor="system:seed-demo",
                        ),
                        unit=code,
                        purpose=purpose.value,
                        amount=amount,
                        currency=DEMO_ESTATE.currency,
                        method="staff_desk",
                        memo="opening balance",
                    )
                    total += amount
    count = len(conn.execute(select(units.c.id)).all())
    return DemoSummary(count, residents, cards, plates, total)
