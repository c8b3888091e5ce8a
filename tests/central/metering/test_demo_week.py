"""A simulated week of the 48-unit demo estate: the ledger matches the meters' registers.

Every meter of the demo estate reports hourly (its simulator obeys the commands
in the answers), the supply worker ticks, some wallets run dry and are cut (a
friendly-credit night defers some cuts), some are topped up and restored, gas
valves are armed and opened by the resident. At the end, for every meter, the
usage charged equals the tariff applied to its registers' movement, to the minor
unit, with the sub-minor remainder carried on the meter.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from central.db.database import Database
from central.db.schema import accounts, postings, transactions
from central.estate import demo as estate_demo
from central.ledger.check import check
from central.metering import demo, registry
from central.metering.service import MeteringService
from central.metering.tables import meters, supply_events
from domain.metering_messages import Action
from domain.tariffs import tier_cost
from terminal_drivers.meter.model import SimMeter
from tests.central.metering.conftest import Clock, pay

START = datetime(2026, 3, 1, 16, tzinfo=UTC)  # Monday 2 March 00:00 in Shanghai
HOURS = 7 * 24


@pytest.mark.slow
def test_a_week_of_the_demo_estate(tmp_path: Path) -> None:
    db = Database.open(f"sqlite:///{tmp_path / 'week.sqlite3'}")
    with db.write() as conn:
        estate_demo.seed(conn)
        count = demo.seed(conn, installed_at=START)
        registry.set_policy(
            conn, registry.Policy("electricity", friendly_start=time(22), friendly_end=time(7))
        )
        rows = conn.execute(
            select(meters.c.serial, meters.c.utility, meters.c.power, meters.c.has_rate_registers)
        ).all()
    assert count == 144
    clock = Clock(START)
    service = MeteringService(db, clock=clock)
    sims = {
        r.serial: SimMeter(
            r.serial,
            r.utility,
            power=r.power,
            rate_registers=r.has_rate_registers,
            scale=2.5 if r.utility == "electricity" else 1.5,
        )
        for r in rows
    }
    for sim in sims.values():
        sim.last_at = START
    topped_up: set[str] = set()
    for hour in range(1, HOURS + 1):
        now = START + timedelta(hours=hour)
        clock.now = now
        batch = [sim.advance(now) for sim in sims.values()]
        _, commands = service.ingest(batch)
        reports = [sims[c.serial].apply(c, now) for c in commands]
        for sim in sims.values():  # a resident at home opens an armed gas valve
            if sim.resident_opens_valve():
                reports.append(sim.apply_report(now))
        if reports:
            _, more = service.report(reports)
            assert not more or all(
                c.action is not Action.RESTORE for c in more if c.serial.startswith("G-")
            )
            for c in more:
                sims[c.serial].apply(c, now)
        service.tick(now)
        if hour == 96:  # Friday: the residents who were cut off top up
            with db.read() as conn:
                cut = [
                    r.serial
                    for r in conn.execute(
                        select(meters.c.serial).where(meters.c.desired_state != "on")
                    )
                ]
            for serial in cut:
                unit = serial.split("-", 1)[1]
                utility = sims[serial].utility
                pay(db, unit, utility, 30_000, f"friday:{serial}")
                topped_up.add(serial)
            service.tick(now)
    with db.read() as conn:
        events = [r.event for r in conn.execute(select(supply_events.c.event))]
        assert check(conn).ok
        posted: dict[str, int] = {}
        for key, amount in conn.execute(
            select(transactions.c.idempotency_key, postings.c.amount)
            .join(postings, postings.c.transaction_id == transactions.c.id)
            .join(accounts, accounts.c.id == postings.c.account_id)
            .where(transactions.c.kind == "usage", accounts.c.kind == "revenue")
        ):
            serial = key.split(":")[1]
            posted[serial] = posted.get(serial, 0) + amount
        carried = {
            r.serial: Decimal(r.carry)
            for r in conn.execute(select(meters.c.serial, meters.c.carry))
        }
        tariffs = registry.load_tariffs(conn)
    # The week saw cut-offs, deferrals through the night, restores and armed valves.
    assert "cut" in events
    assert "deferred" in events
    assert topped_up
    assert "restore" in events or "arm" in events
    days = len(
        {
            (START + timedelta(hours=h)).astimezone(estate_demo.DEMO_ESTATE.zone).date()
            for h in range(1, HOURS + 1)
        }
    )
    for serial, sim in sims.items():
        exact = expected(serial, sim, tariffs, days) * 100
        assert posted.get(serial, 0) + carried[serial] == exact, serial
        assert posted.get(serial, 0) == int(exact), serial


def expected(serial: str, sim: SimMeter, tariffs: dict[str, list[object]], days: int) -> Decimal:
    """The tariff applied to the meter's register movement over the week (from zero)."""
    if sim.utility == "gas":
        return sim.value * Decimal("3.03") + Decimal("0.1") * days
    if sim.utility == "water":
        (water,) = tariffs["water"]
        return tier_cost(water.tiers, Decimal(0), sim.value)  # type: ignore[attr-defined]
    if sim.registers is not None:
        return sim.registers["peak"] * Decimal("0.617") + sim.registers["valley"] * Decimal("0.307")
    (elec,) = tariffs["elec-tiered"]
    return tier_cost(elec.tiers, Decimal(0), sim.value)  # type: ignore[attr-defined]
