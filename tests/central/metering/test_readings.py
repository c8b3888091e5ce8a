"""Readings: charged, duplicated, out of order, rolled over, implausible and reviewed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from central.db.database import Database
from central.db.schema import accounts
from central.metering import ingest
from central.metering.service import MeteringService
from central.metering.tables import meters, readings
from tests.central.metering.conftest import T0, Clock, pay, reading


def balance(db: Database, code: str) -> int:
    with db.read() as conn:
        return int(
            conn.execute(select(accounts.c.balance).where(accounts.c.code == code)).scalar_one()
        )


def verdicts(service: MeteringService, *batch: object) -> list[str]:
    result, _ = service.ingest(batch)  # type: ignore[arg-type]
    return [v.verdict for v in result.verdicts]


def test_charge_carries_the_remainder(db: Database, service: MeteringService) -> None:
    pay(db, "A-0101", "electricity", 10_000, "t1")
    # 1 kWh at 0.6173 is 61.73 fen: 61 posted, 0.73 carried; the next 1 kWh makes 123.46.
    assert verdicts(service, reading("E-1", T0, "1")) == ["charged"]
    assert balance(db, "wallet:A-0101:electricity") == 10_000 - 61
    assert verdicts(service, reading("E-1", T0 + timedelta(hours=1), "2")) == ["charged"]
    assert balance(db, "wallet:A-0101:electricity") == 10_000 - 123
    with db.read() as conn:
        carry = conn.execute(select(meters.c.carry).where(meters.c.serial == "E-1")).scalar()
    assert Decimal(str(carry)) == Decimal("0.46")


def test_duplicates_apply_once(db: Database, service: MeteringService) -> None:
    pay(db, "A-0101", "electricity", 10_000, "t1")
    r = reading("E-1", T0, "10")
    assert verdicts(service, r, r) == ["charged", "duplicate"]
    assert verdicts(service, r) == ["duplicate"]
    assert verdicts(service, reading("E-1", T0, "11")) == ["rejected"]
    assert balance(db, "wallet:A-0101:electricity") == 10_000 - 617


def test_out_of_order_is_placed_and_sorted_within_a_batch(
    db: Database, service: MeteringService
) -> None:
    pay(db, "A-0101", "electricity", 10_000, "t1")
    late, early = reading("E-1", T0 + timedelta(hours=2), "4"), reading("E-1", T0, "2")
    assert verdicts(service, late, early) == ["charged", "charged"]
    # An older reading arriving after a newer one: stored in its place, no money moves.
    assert verdicts(service, reading("E-1", T0 + timedelta(hours=1), "3")) == ["placed"]
    assert balance(db, "wallet:A-0101:electricity") == 10_000 - 246  # 4 kWh: 246.92


def test_rollover_and_negative_step(db: Database, service: MeteringService) -> None:
    pay(db, "A-0101", "electricity", 100_000, "t1")
    # E-1 has five digits: 99990 -> 00005 is 15 kWh, not minus 99985.
    with db.write() as conn:
        conn.execute(meters.update().where(meters.c.serial == "E-1").values(last_value="99990"))
    assert verdicts(service, reading("E-1", T0, "5")) == ["charged"]
    assert balance(db, "wallet:A-0101:electricity") == 100_000 - 925  # 15 * 61.73 = 925.95
    held = verdicts(service, reading("E-1", T0 + timedelta(hours=1), "3"))
    assert held == ["held"]


def test_implausible_jump_held_then_accepted(
    db: Database, service: MeteringService, clock: Clock
) -> None:
    pay(db, "A-0101", "electricity", 100_000, "t1")
    assert verdicts(service, reading("E-1", T0, "1000")) == ["held"]  # 1000 kWh in a day
    assert balance(db, "wallet:A-0101:electricity") == 100_000
    # The next plausible reading is charged from the last accepted one.
    assert verdicts(service, reading("E-1", T0 + timedelta(hours=1), "10")) == ["charged"]
    assert balance(db, "wallet:A-0101:electricity") == 100_000 - 617
    # A manager corrects a later held one: charged at the corrected value.
    assert verdicts(service, reading("E-1", T0 + timedelta(hours=2), "900")) == ["held"]
    with db.write() as conn:
        held_id = (
            conn.execute(
                select(readings.c.id)
                .where(readings.c.status == "held")
                .order_by(readings.c.taken_at.desc())
            )
            .scalars()
            .first()
        )
        assert held_id is not None
        out = ingest.review_held(
            conn,
            service.environment(),
            reading_id=held_id,
            action="correct",
            value=Decimal("12"),
            now=clock(),
            actor="staff:boss",
        )
    assert out.verdict == "charged"
    assert balance(db, "wallet:A-0101:electricity") == 100_000 - 740  # 12 kWh = 740.76


def test_tiered_water_over_the_tier(db: Database, service: MeteringService) -> None:
    pay(db, "A-0101", "water", 100_000, "t1")
    # 18 m3 then 4 m3: 18*3.45 = 62.10; then 2*3.45 + 2*4.83 = 16.56.
    assert verdicts(service, reading("W-1", T0, "18")) == ["charged"]
    assert verdicts(service, reading("W-1", T0 + timedelta(hours=12), "22")) == ["charged"]
    assert balance(db, "wallet:A-0101:water") == 100_000 - 6210 - 1656


def test_unknown_meter_rejected(service: MeteringService) -> None:
    assert verdicts(service, reading("NOPE", T0, "1")) == ["rejected"]


def test_common_area_meter_is_shared_by_floor_area(
    db: Database, service: MeteringService, client: object, manager: dict[str, str]
) -> None:
    from central.metering import registry

    with db.write() as conn:
        registry.add_meter(
            conn,
            serial="LIFT-A",
            unit=None,
            utility="electricity",
            tariff="elec",
            installed_at=T0 - timedelta(days=1),
        )
    service.invalidate()
    for unit in ("A-0101", "A-0102", "A-0201", "B-0101"):
        pay(db, unit, "electricity", 10_000, f"fund-{unit}")
    # 100 kWh = 61.73: shared by 88.5 : 88.5 : 88.5 : 120 m2 (the fixture's four flats).
    assert verdicts(service, reading("LIFT-A", T0, "100")) == ["charged"]
    balances = {
        u: balance(db, f"wallet:{u}:electricity") for u in ("A-0101", "A-0102", "A-0201", "B-0101")
    }
    assert sum(balances.values()) == 40_000 - 6173
    # 6173 * 120 / 385.5 = 1921.57 and 6173 * 88.5 / 385.5 = 1417.14: the odd fen goes
    # to the largest remainder.
    assert balances["B-0101"] == 10_000 - 1922
    assert balances["A-0101"] == 10_000 - 1417
    answer = client.get("/v1/metering/shared/LIFT-A", headers=manager)  # type: ignore[attr-defined]
    shared = {r["unit"]: r["charged"] for r in answer.json()}
    assert shared == {u: 10_000 - b for u, b in balances.items()}


def test_meter_replacement(db: Database, service: MeteringService) -> None:
    from central.errors import InvalidRequest
    from central.metering import registry

    pay(db, "A-0101", "electricity", 100_000, "t1")
    assert verdicts(service, reading("E-1", T0, "10")) == ["charged"]
    with db.write() as conn:
        with pytest.raises(InvalidRequest):  # the final reading must have been charged
            registry.remove_meter(conn, serial="E-1", final_value="12", at=T0)
        registry.remove_meter(conn, serial="E-1", final_value="10", at=T0)
        registry.add_meter(
            conn,
            serial="E-2",
            unit="A-0101",
            utility="electricity",
            tariff="elec",
            installed_at=T0,
            start_value="3",
            replaces="E-1",
        )
    assert verdicts(service, reading("E-1", T0 + timedelta(hours=1), "11")) == ["rejected"]
    assert verdicts(service, reading("E-2", T0 + timedelta(hours=1), "5")) == ["charged"]
    # 10 kWh on the old meter (617) and 2 on the new one from its start of 3 (123.46).
    assert balance(db, "wallet:A-0101:electricity") == 100_000 - 617 - 123
