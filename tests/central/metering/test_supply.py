"""Cut-off, limit and restore: friendly credit, gas valves, battery queues, debt, warnings."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time

from fastapi.testclient import TestClient
from sqlalchemy import select

from central.db.database import Database
from central.db.schema import accounts
from central.metering import registry
from central.metering.service import MeteringService
from central.metering.tables import meters, notifications, supply_commands, supply_events
from domain.metering_messages import Action, StateReport, SupplyState
from tests.central.metering.conftest import T0, Clock, pay, reading


def state(db: Database, serial: str) -> str:
    with db.read() as conn:
        return str(
            conn.execute(select(meters.c.desired_state).where(meters.c.serial == serial)).scalar()
        )


def commands(db: Database, serial: str) -> list[tuple[str, str]]:
    with db.read() as conn:
        return [
            (r.action, r.status)
            for r in conn.execute(
                select(supply_commands.c.action, supply_commands.c.status)
                .join(meters, meters.c.id == supply_commands.c.meter_id)
                .where(meters.c.serial == serial)
                .order_by(supply_commands.c.created_at)
            )
        ]


def balance(db: Database, code: str) -> int:
    with db.read() as conn:
        value = conn.execute(select(accounts.c.balance).where(accounts.c.code == code)).scalar()
    return int(value or 0)


def set_policy(db: Database, service: MeteringService, **kw: object) -> None:
    with db.write() as conn:
        registry.set_policy(conn, registry.Policy(**kw))  # type: ignore[arg-type]
    service.invalidate()


def empty_electricity(db: Database, service: MeteringService, at: datetime) -> None:
    """Spend the wallet (100.00) and the emergency credit (10.00): 200 kWh = 123.46."""
    pay(db, "A-0101", "electricity", 10_000, "fund-e")
    service.tick(at - timedelta(seconds=1))  # the worker sees the funding before any usage
    service.ingest([reading("E-1", at, "200")])


def test_cut_when_the_wallet_runs_out(db: Database, service: MeteringService) -> None:
    empty_electricity(db, service, T0)
    assert balance(db, "wallet:A-0101:electricity") == -1000  # at the floor
    assert balance(db, "debt:A-0101:electricity") == -1346  # what the floor could not take
    assert state(db, "E-1") == "off"
    assert commands(db, "E-1") == [("cut", "sent")]  # in the answer to its reading


def test_cut_deferred_through_a_night_and_a_holiday_then_executed(
    db: Database, service: MeteringService, clock: Clock
) -> None:
    set_policy(
        db,
        service,
        utility="electricity",
        friendly_start=clock_time(18),
        friendly_end=clock_time(8),
    )
    # Tuesday 3 March is a holiday: the night of Monday runs into it, then into its night.
    with db.write() as conn:
        registry.add_holiday(conn, day=date(2026, 3, 3), name="test holiday")
    service.invalidate()
    evening = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # Monday 20:00 in Shanghai
    clock.now = evening
    empty_electricity(db, service, evening)
    assert state(db, "E-1") == "on"
    assert commands(db, "E-1") == [("cut", "deferred")]
    # Wednesday 08:00 local = Wednesday 00:00 UTC: night, holiday and night are one wait.
    service.tick(datetime(2026, 3, 3, 23, 59, tzinfo=UTC))
    assert commands(db, "E-1") == [("cut", "deferred")]
    service.tick(datetime(2026, 3, 4, 0, 0, 1, tzinfo=UTC))
    assert state(db, "E-1") == "off"
    assert commands(db, "E-1")[0][0] == "cut"
    assert commands(db, "E-1")[0][1] in ("queued", "sent")
    with db.read() as conn:
        events = [r.event for r in conn.execute(select(supply_events.c.event))]
    assert events == ["deferred", "cut"]


def test_a_top_up_during_friendly_credit_cancels_the_deferred_cut(
    db: Database, service: MeteringService, clock: Clock
) -> None:
    set_policy(db, service, utility="electricity", friendly_weekends=True)
    saturday = datetime(2026, 3, 7, 2, tzinfo=UTC)
    clock.now = saturday
    empty_electricity(db, service, saturday)
    assert commands(db, "E-1") == [("cut", "deferred")]
    pay(db, "A-0101", "electricity", 5000, "weekend-top-up")
    service.tick(saturday + timedelta(minutes=1))
    assert commands(db, "E-1") == [("cut", "cancelled")]
    assert state(db, "E-1") == "on"


def test_load_limit_mode(db: Database, service: MeteringService) -> None:
    set_policy(db, service, utility="electricity", mode="limit", limit_w=800)
    empty_electricity(db, service, T0)
    assert state(db, "E-1") == "limited"
    with db.read() as conn:
        limit = conn.execute(select(supply_commands.c.limit_w)).scalar()
    assert commands(db, "E-1") == [("limit", "sent")]
    assert limit == 800


def test_gas_valve_is_armed_not_opened(db: Database, service: MeteringService) -> None:
    pay(db, "A-0101", "gas", 1000, "fund-g")
    service.ingest([reading("G-1", T0, "10")])  # 30.30: past the wallet and its credit
    assert state(db, "G-1") == "off"
    pay(db, "A-0101", "gas", 20_000, "gas-top-up")
    service.tick(T0 + timedelta(minutes=1))
    assert state(db, "G-1") == "armed"
    actions = [a for a, _ in commands(db, "G-1")]
    assert actions == ["cut", "arm"]
    assert Action.RESTORE.value not in actions
    # The resident opens the armed valve at the meter: the meter reports it open.
    service.report([StateReport("G-1", SupplyState.ON, T0 + timedelta(minutes=5))])
    assert state(db, "G-1") == "on"


def test_battery_meter_command_waits_then_expires(
    db: Database, service: MeteringService, clock: Clock
) -> None:
    set_policy(db, service, utility="gas", command_ttl_s=3600)
    pay(db, "A-0101", "gas", 1000, "fund-g")
    _, sent = service.ingest([reading("G-1", T0, "10")])  # awake: the cut goes in the answer
    service.report([StateReport("G-1", SupplyState.OFF, T0, command_id=sent[0].id)])
    pay(db, "A-0101", "gas", 20_000, "gas-top-up")
    # The meter sleeps: the worker queues the arm command but cannot send it.
    assert service.tick(T0 + timedelta(minutes=1)) == []
    assert commands(db, "G-1") == [("cut", "acked"), ("arm", "queued")]
    with db.read() as conn:
        from central.metering.supply import pending_summary

        (pending,) = pending_summary(conn, T0 + timedelta(minutes=1))
    assert pending["action"] == "arm"
    assert pending["expected_at"] == (T0 + timedelta(hours=1)).isoformat()  # its next wake
    service.tick(T0 + timedelta(hours=1, minutes=1, seconds=1))
    assert commands(db, "G-1") == [("cut", "acked"), ("arm", "expired")]
    with db.read() as conn:
        alert = conn.execute(
            select(supply_events.c.alert).where(supply_events.c.event == "expired")
        ).scalar()
    assert alert


def test_battery_meter_gets_its_command_when_it_wakes(
    db: Database, service: MeteringService, clock: Clock
) -> None:
    pay(db, "A-0101", "gas", 1000, "fund-g")
    service.ingest([reading("G-1", T0, "10")])
    clock.now = T0 + timedelta(hours=1)
    _, sent = service.ingest([reading("G-1", clock.now, "10")])  # it wakes and reports
    assert [c.action for c in sent] == [Action.CUT]
    verdicts, _ = service.report(
        [StateReport("G-1", SupplyState.OFF, clock.now, command_id=sent[0].id)]
    )
    assert verdicts == ["acked"]
    assert commands(db, "G-1") == [("cut", "acked")]
    # The same acknowledgement again changes nothing.
    assert service.report([StateReport("G-1", SupplyState.OFF, clock.now, sent[0].id)])[0] == [
        "duplicate"
    ]


def test_mismatch_is_resent_and_raised(db: Database, service: MeteringService) -> None:
    empty_electricity(db, service, T0)
    _, sent = service.ingest([reading("E-1", T0 + timedelta(hours=1), "200")])
    assert [c.action for c in sent] == [Action.CUT]
    service.report([StateReport("E-1", SupplyState.OFF, T0, command_id=sent[0].id)])
    # Someone bridges the relay: the meter reports it on while we want it off.
    verdicts, resent = service.report([StateReport("E-1", SupplyState.ON, T0 + timedelta(hours=2))])
    assert verdicts == ["mismatch"]
    assert [c.action for c in resent] == [Action.CUT]  # re-sent in the answer
    assert commands(db, "E-1") == [("cut", "acked"), ("cut", "sent")]
    with db.read() as conn:
        alerts = conn.execute(
            select(supply_events.c.event).where(supply_events.c.alert.is_(True))
        ).all()
    assert [a.event for a in alerts] == ["mismatch"]


def test_debt_recovery_is_capped_per_top_up(db: Database, service: MeteringService) -> None:
    set_policy(db, service, utility="electricity", recovery_percent=25)
    empty_electricity(db, service, T0)
    assert balance(db, "debt:A-0101:electricity") == -1346
    pay(db, "A-0101", "electricity", 2000, "small")  # wallet -1000 + 2000 = 1000
    service.tick(T0 + timedelta(minutes=1))
    # 25% of 2000 = 500 recovered, not the whole 1346.
    assert balance(db, "debt:A-0101:electricity") == -846
    assert balance(db, "wallet:A-0101:electricity") == 500
    pay(db, "A-0101", "electricity", 10_000, "big")
    service.tick(T0 + timedelta(minutes=2))
    assert balance(db, "debt:A-0101:electricity") == 0  # 846 < 2500
    assert balance(db, "wallet:A-0101:electricity") == 500 + 10_000 - 846
    service.tick(T0 + timedelta(minutes=3))  # each top-up is recovered from once
    assert balance(db, "wallet:A-0101:electricity") == 500 + 10_000 - 846


def test_one_notification_per_crossing(db: Database, service: MeteringService) -> None:
    with db.write() as conn:
        from central.estate import registry as estate_registry

        estate_registry.add_resident(
            conn, unit="A-0101", name="Test Resident", phone="+86 139 0000 0000", language="zh_CN"
        )
    set_policy(db, service, utility="electricity", low_thresholds=(5000,))
    pay(db, "A-0101", "electricity", 10_000, "fund-e")

    def sms() -> list[str]:
        with db.read() as conn:
            return [
                r.body
                for r in conn.execute(
                    select(notifications.c.body).where(notifications.c.channel == "sms")
                )
            ]

    service.ingest([reading("E-1", T0, "90")])  # 55.56 spent: 44.44 left, below 50.00
    service.ingest([reading("E-1", T0 + timedelta(hours=1), "91")])  # still below: no more
    service.ingest([reading("E-1", T0 + timedelta(hours=2), "92")])
    assert len(sms()) == 1
    assert "余额" in sms()[0]
    assert "A-0101" in sms()[0]
    pay(db, "A-0101", "electricity", 10_000, "again")  # back above: re-armed
    service.tick(T0 + timedelta(hours=3))
    service.ingest([reading("E-1", T0 + timedelta(hours=12), "300")])  # below again
    assert len(sms()) == 2
    service.tick(T0 + timedelta(hours=13))
    with db.read() as conn:
        statuses = {r.status for r in conn.execute(select(notifications.c.status))}
    assert statuses == {"sent"}


def test_restore_within_a_second_of_a_top_up(
    client: TestClient, manager: dict[str, str], db: Database
) -> None:
    from tests.central.metering.conftest import ELECTRICITY

    with db.write() as conn:
        registry.add_tariff(conn, ELECTRICITY)
        registry.add_meter(
            conn,
            serial="E-9",
            unit="A-0102",
            utility="electricity",
            tariff="elec",
            installed_at=T0 - timedelta(days=1),
        )
    client.app.state.metering.invalidate()  # type: ignore[attr-defined]
    answer = client.post(
        "/v1/metering/readings",
        headers=manager,
        json={"readings": [{"serial": "E-9", "taken_at": T0.isoformat(), "value": "50"}]},
    )
    assert answer.status_code == 200, answer.text
    assert [c["action"] for c in answer.json()["commands"]] == ["cut"]
    started = time.monotonic()
    paid = client.post(
        "/v1/ledger/top-ups",
        headers={**manager, "Idempotency-Key": "r1"},
        json={
            "unit": "A-0102",
            "wallet": "electricity",
            "amount": 10_000,
            "currency": "CNY",
            "method": "staff_desk",
        },
    )
    assert paid.status_code == 201, paid.text
    while state(db, "E-9") != "on":
        assert time.monotonic() - started < 1.0, "no restore within a second"
        time.sleep(0.02)
    assert [a for a, _ in commands(db, "E-9")] == ["cut", "restore"]


def test_days_left(client: TestClient, manager: dict[str, str], db: Database) -> None:
    answer = client.get("/v1/metering/days-left", params={"unit": "A-0101"}, headers=manager)
    assert answer.status_code == 200
    assert [r["utility"] for r in answer.json()] == ["electricity", "water", "gas"]
    assert all(r["days_left"] is None for r in answer.json())  # nothing used yet


def test_an_http_meter_polls_for_its_commands(
    client: TestClient, manager: dict[str, str], db: Database
) -> None:
    from tests.central.metering.conftest import ELECTRICITY

    with db.write() as conn:
        registry.add_tariff(conn, ELECTRICITY)
        registry.add_meter(
            conn,
            serial="E-8",
            unit="A-0102",
            utility="electricity",
            tariff="elec",
            installed_at=T0 - timedelta(days=1),
        )
    client.app.state.metering.invalidate()  # type: ignore[attr-defined]
    answer = client.post(
        "/v1/metering/readings",
        headers=manager,
        json={"readings": [{"serial": "E-8", "taken_at": T0.isoformat(), "value": "50"}]},
    )
    (cut,) = answer.json()["commands"]
    pay(db, "A-0102", "electricity", 10_000, "poll-top-up")
    deadline = time.monotonic() + 5
    polled: list[dict[str, object]] = []
    while not polled:
        assert time.monotonic() < deadline
        polled = client.get("/v1/metering/meters/E-8/commands", headers=manager).json()
        polled = [c for c in polled if c["action"] == "restore"]
        time.sleep(0.05)
    acked = client.post(
        "/v1/metering/state",
        headers=manager,
        json={
            "reports": [
                {
                    "serial": "E-8",
                    "state": "on",
                    "at": T0.isoformat(),
                    "command_id": polled[0]["id"],
                }
            ]
        },
    )
    assert acked.json()["results"] == ["acked"]
    assert cut["action"] == "cut"
