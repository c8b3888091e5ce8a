"""MQTT end to end against a real Mosquitto: readings in, commands out, acks back,
and a broker restart with commands pending (nothing lost, nothing applied twice)."""

from __future__ import annotations

import getpass
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from central.db.database import Database
from central.metering import registry
from central.metering.mqtt_bridge import MqttBridge
from central.metering.service import MeteringService
from central.metering.tables import meters, readings, supply_commands
from domain.metering_messages import SupplyState
from terminal_drivers.meter.fleet import Fleet, MqttLink
from terminal_drivers.meter.model import SimMeter
from tests.central.metering.conftest import ELECTRICITY, GAS, pay


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    """Mosquitto as a child process, with persistence so sessions survive a restart."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.config = workdir / "mosquitto.conf"
        store = workdir / "store"
        store.mkdir()
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {store}/\nautosave_interval 1\nmax_queued_messages 100000\n"
            # As root, Mosquitto would switch to its own user, who cannot write the store here.
            f"user {getpass.getuser()}\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                assert time.monotonic() < deadline, "mosquitto did not start"
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: mosquitto saves its persistence file
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path)
    b.start()
    yield b
    b.stop()


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=4)


def test_mqtt_end_to_end_with_a_broker_restart(db: Database, broker: Broker) -> None:
    with db.write() as conn:
        registry.add_tariff(conn, ELECTRICITY)
        registry.add_tariff(conn, GAS)
        registry.add_meter(
            conn,
            serial="E-1",
            unit="A-0101",
            utility="electricity",
            tariff="elec",
            transport="mqtt",
            installed_at=T0,
        )
    pay(db, "A-0101", "electricity", 1000, "fund")
    service = MeteringService(db)
    bridge = MqttBridge(service, broker.url)
    bridge.start()
    service.start(0.05)
    link = MqttLink(broker.url, client_id="test-fleet")
    sim = SimMeter("E-1", "electricity")
    sim.last_at = T0
    fleet = Fleet([sim], link)

    def count(status: str | None = None) -> int:
        with db.read() as conn:
            q = select(func.count()).select_from(readings)
            if status:
                q = q.where(readings.c.status == status)
            return int(conn.execute(q).scalar_one())

    def command_states() -> list[tuple[str, str]]:
        with db.read() as conn:
            return [
                (r.action, r.status)
                for r in conn.execute(
                    select(supply_commands.c.action, supply_commands.c.status).order_by(
                        supply_commands.c.created_at
                    )
                )
            ]

    try:
        assert bridge.connected.wait(30)
        assert link.connected.wait(30)
        # 1. A reading empties the wallet: the cut arrives over MQTT, the meter acks it.
        link.send([sim.advance(T0 + timedelta(minutes=30))])
        sim.value += 40  # 40 kWh in 90 minutes: 24.69, past the wallet and its credit
        link.send([sim.advance(T0 + timedelta(hours=2))])
        wait_for(lambda: count() == 2)
        received = link.received(20.0)
        assert [c.action.value for c in received] == ["cut"]
        fleet.obey(received, T0 + timedelta(hours=2))
        wait_for(lambda: command_states() == [("cut", "acked")])
        assert sim.state is SupplyState.OFF

        # 2. The server goes away; the meter reports; the broker restarts; the server
        # comes back: its persistent session kept the readings.
        bridge.stop()
        for minute in (130, 140, 150):
            link.send([sim.advance(T0 + timedelta(minutes=minute))])
        time.sleep(0.5)
        broker.stop()
        broker.start()
        assert link.connected.wait(30)
        bridge = MqttBridge(service, broker.url)
        bridge.start()
        wait_for(lambda: count() == 5)

        # 3. With the broker down, a top-up makes a restore command the server cannot
        # deliver; the meter keeps reporting into its own queue. Both get through after.
        broker.stop()
        wait_for(lambda: not bridge.connected.is_set())
        pay(db, "A-0101", "electricity", 20_000, "top-up")
        wait_for(lambda: command_states()[-1][0] == "restore")
        for minute in (160, 170):
            link.send([sim.advance(T0 + timedelta(minutes=minute))])
        time.sleep(0.3)
        broker.start()
        assert bridge.connected.wait(30)
        assert link.connected.wait(30)
        wait_for(lambda: count() == 7)

        def restored() -> bool:
            fleet.obey(link.received(0.1), T0 + timedelta(minutes=175))
            return command_states()[-1] == ("restore", "acked")

        wait_for(restored, 40)
        assert sim.state is SupplyState.ON
        # Nothing applied twice: each command once on the meter, each reading once.
        assert len(sim.applied) == 2
        assert count() == 7
        with db.read() as conn:
            desired = conn.execute(select(meters.c.desired_state)).scalar()
        assert desired == "on"
    finally:
        link.close()
        bridge.stop()
        service.stop()


def test_a_gateway_batch_over_mqtt(db: Database, broker: Broker) -> None:
    import json

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from domain.metering_messages import gateway_topic

    with db.write() as conn:
        registry.add_tariff(conn, ELECTRICITY)
        for n in range(3):
            registry.add_meter(
                conn,
                serial=f"E-{n}",
                unit="A-0101",
                utility="electricity",
                tariff="elec",
                transport="mqtt",
                installed_at=T0,
            )
    pay(db, "A-0101", "electricity", 100_000, "fund")
    service = MeteringService(db)
    bridge = MqttBridge(service, broker.url)
    bridge.start()
    gateway = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gateway-1")
    try:
        assert bridge.connected.wait(30)
        gateway.connect("127.0.0.1", broker.port)
        gateway.loop_start()
        batch = [
            {"serial": f"E-{n}", "taken_at": (T0 + timedelta(hours=1)).isoformat(), "value": "2"}
            for n in range(3)
        ]
        batch.append({"serial": "E-0", "taken_at": "yesterday", "value": "1"})  # refused alone
        gateway.publish(gateway_topic("gw-1"), json.dumps({"readings": batch}), qos=1)

        def charged() -> int:
            with db.read() as conn:
                return int(
                    conn.execute(
                        select(func.count())
                        .select_from(readings)
                        .where(readings.c.status == "charged")
                    ).scalar_one()
                )

        wait_for(lambda: charged() == 3)
    finally:
        gateway.loop_stop()
        gateway.disconnect()
        bridge.stop()
