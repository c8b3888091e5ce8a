"""Metering benchmark: readings ingested and charged per second, and command latency.

Measured like production: ``prepaid central serve`` in its own process with its
MQTT bridge, a Mosquitto broker in another, this process as the meters (HTTP
client and MQTT publisher), SQLite on disk with synchronous commits.

- HTTP: batches of readings through ``POST /v1/metering/readings``, each reading
  priced and charged to its unit's wallet; readings/s per batch, median.
- MQTT: readings published at QoS 1 as fast as one paho client can; readings/s
  from the first publish until the database holds every one of them charged.
- From the reading that empties a wallet to the cut-off command arriving on the
  meter's command topic; from a top-up (``POST /v1/ledger/top-ups``) to the
  restore command arriving: p50 and p95.

    .venv/bin/python bench/metering.py [--units 1000] [--batches 5] [--per-meter 10] [--trials 30]
"""

from __future__ import annotations

import argparse
import queue
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Client, central_server, free_port, median, percentile

PASSWORD = "bench password 1"
T0 = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)
PRICE = Decimal("0.6173")


def prepare(url: str, units: int, trials: int) -> None:
    from central.auth.principal import Role
    from central.auth.staff import create_staff
    from central.db.database import Database
    from central.estate import registry as estate_registry
    from central.estate.settings import Estate, create
    from central.ledger.operations import Context, top_up
    from central.metering import registry
    from domain.tariffs import Tariff, TariffKind

    db = Database.open(url)
    estate = Estate("Bench", "Bench Ltd", "", "", "CNY", "Asia/Shanghai", "en", 2000)
    with db.write() as conn:
        create(conn, estate)
        create_staff(conn, username="bench", password=PASSWORD, role=Role.MANAGER)
        estate_registry.add_site(conn, code="s", name="S")
        estate_registry.add_building(conn, site="s", code="A", name="A", floors=50)
        registry.add_tariff(
            conn, Tariff("elec", "electricity", T0 - timedelta(days=30), TariffKind.FLAT, PRICE)
        )
        groups = (
            ("H", units, "http", 10**9),
            ("M", units, "mqtt", 10**9),
            ("C", trials, "mqtt", 0),
        )
        for prefix, count, transport, funds in groups:
            for i in range(count):
                unit = estate_registry.add_unit(
                    conn,
                    building="A",
                    number=f"{prefix}{i:05d}",
                    floor=1 + i % 50,
                    area_m2=Decimal(90),
                )
                registry.add_meter(
                    conn,
                    serial=f"{prefix}{i}",
                    unit=unit,
                    utility="electricity",
                    tariff="elec",
                    transport=transport,
                    installed_at=T0,
                )
                if funds:
                    top_up(
                        conn,
                        Context(estate, f"fund-{unit}", "system:bench"),
                        unit=unit,
                        purpose="electricity",
                        amount=funds,
                        currency="CNY",
                        method="staff_desk",
                    )
    db.close()


class Broker:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        config = workdir / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 1000000\nmax_inflight_messages 0\n"
        )
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(0.3)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def count_charged(path: Path, prefix: str) -> int:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        (n,) = con.execute(
            "SELECT count(*) FROM readings r JOIN meters m ON m.id = r.meter_id "
            "WHERE m.serial LIKE ? AND r.status = 'charged'",
            (f"{prefix}%",),
        ).fetchone()
        return int(n)
    finally:
        con.close()


def reading(serial: str, step: int) -> dict[str, str]:
    at = T0 + timedelta(minutes=15 * step)
    return {"serial": serial, "taken_at": at.isoformat(), "value": str(Decimal(step) / 4)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=1000, help="meters per transport")
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--per-meter", type=int, default=10, help="readings per meter a batch")
    parser.add_argument("--trials", type=int, default=30, help="cut-off and restore trials")
    args = parser.parse_args()

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    tmp = Path(tempfile.mkdtemp(prefix="prepaid-bench-metering-"))
    path = tmp / "metering.sqlite3"
    url = f"sqlite:///{path}"
    print(f"preparing {2 * args.units + args.trials} units and meters ...", flush=True)
    prepare(url, args.units, args.trials)
    broker = Broker(tmp)
    broker_url = f"mqtt://127.0.0.1:{broker.port}"
    try:
        with central_server(url, env={"PREPAID_MQTT_URL": broker_url}) as port:
            client = Client(port)
            status, body = client.call(
                "POST", "/v1/auth/token", {"username": "bench", "password": PASSWORD}
            )
            assert status == 200, body
            client = Client(port, body["access_token"])

            # HTTP: batches of readings.
            size = args.units * args.per_meter
            rates = []
            for b in range(args.batches):
                batch = [
                    reading(f"H{i}", b * args.per_meter + j + 1)
                    for j in range(args.per_meter)
                    for i in range(args.units)
                ]
                start = time.perf_counter()
                status, answer = client.call(
                    "POST", "/v1/metering/readings?answer=brief", {"readings": batch}
                )
                elapsed = time.perf_counter() - start
                assert status == 200, answer
                assert answer["counts"] == {"charged": size}, answer["counts"]
                rates.append(size / elapsed)
                print(
                    f"  HTTP batch {b + 1}/{args.batches}: {size} readings in {elapsed:.2f} s",
                    flush=True,
                )

            # MQTT: one publisher, QoS 1, as fast as it goes.
            commands: queue.Queue[tuple[str, str, float]] = queue.Queue()
            meter = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-meters")
            meter.max_inflight_messages_set(1000)
            meter.max_queued_messages_set(0)

            def on_message(c: object, u: object, message: mqtt.MQTTMessage) -> None:
                import json

                data = json.loads(message.payload)
                commands.put((data["serial"], data["action"], time.perf_counter()))

            meter.on_message = on_message
            meter.connect("127.0.0.1", broker.port)
            meter.subscribe("prepaid/meters/+/command", qos=1)
            meter.loop_start()
            time.sleep(0.5)
            import json

            total = args.units * args.per_meter * 2
            start = time.perf_counter()
            for j in range(args.per_meter * 2):
                for i in range(args.units):
                    payload = json.dumps(reading(f"M{i}", j + 1)).encode()
                    meter.publish(f"prepaid/meters/M{i}/reading", payload, qos=1)
            published = time.perf_counter() - start
            while count_charged(path, "M") < total:
                time.sleep(0.05)
                if time.perf_counter() - start > 600:
                    raise RuntimeError("MQTT readings did not all arrive")
            mqtt_elapsed = time.perf_counter() - start
            print(
                f"  MQTT: {total} readings published in {published:.2f} s, "
                f"all charged after {mqtt_elapsed:.2f} s",
                flush=True,
            )

            # MQTT batched: a gateway publishes its meters' readings, one message a round.
            steps = args.per_meter * 2
            start = time.perf_counter()
            for j in range(steps, 2 * steps):
                message = {"readings": [reading(f"M{i}", j + 1) for i in range(args.units)]}
                meter.publish("prepaid/gateways/bench/readings", json.dumps(message), qos=1)
            while count_charged(path, "M") < 2 * total:
                time.sleep(0.05)
                if time.perf_counter() - start > 600:
                    raise RuntimeError("gateway readings did not all arrive")
            gateway_elapsed = time.perf_counter() - start
            print(
                f"  MQTT gateway: {total} readings in {steps} messages, all charged after "
                f"{gateway_elapsed:.2f} s",
                flush=True,
            )

            # Latency: the reading that empties a wallet -> cut; a top-up -> restore.
            client = Client(port, body["access_token"])  # the idle keep-alive may have closed
            cut_ms, restore_ms = [], []
            for i in range(args.trials):
                while not commands.empty():
                    commands.get_nowait()
                serial = f"C{i}"
                payload = json.dumps(
                    {
                        "serial": serial,
                        "taken_at": (T0 + timedelta(hours=3)).isoformat(),
                        "value": "60",
                    }  # 60 kWh = 37.04: past the emergency credit
                ).encode()
                start = time.perf_counter()
                meter.publish(f"prepaid/meters/{serial}/reading", payload, qos=1)
                while True:
                    got_serial, action, at = commands.get(timeout=30)
                    if got_serial == serial and action == "cut":
                        cut_ms.append((at - start) * 1000)
                        break
                unit = f"A-C{i:05d}"
                start = time.perf_counter()
                status, answer = client.call(
                    "POST",
                    "/v1/ledger/top-ups",
                    {
                        "unit": unit,
                        "wallet": "electricity",
                        "amount": 10_000,
                        "currency": "CNY",
                        "method": "staff_desk",
                    },
                    {"Idempotency-Key": f"restore-{i}"},
                )
                assert status == 201, answer
                while True:
                    got_serial, action, at = commands.get(timeout=30)
                    if got_serial == serial and action == "restore":
                        restore_ms.append((at - start) * 1000)
                        break
            meter.loop_stop()
            meter.disconnect()
            status, report = client.call("GET", "/v1/ledger/check")
            assert report["ok"], report
            client.close()
    finally:
        broker.stop()
    http_rate = median(rates)
    mqtt_rate = total / mqtt_elapsed
    print()
    print("| figure | SQLite | target |")
    print("|---|---|---|")
    print(
        f"| HTTP, {size:,} readings a batch, median of {args.batches} | "
        f"{http_rate:,.0f} readings/s | at least 10,000/s |"
    )
    print(f"| MQTT, {total:,} readings at QoS 1, one publisher | {mqtt_rate:,.0f} readings/s | |")
    print(
        f"| MQTT batched, a gateway's {args.units:,} readings a message | "
        f"{total / gateway_elapsed:,.0f} readings/s | |"
    )
    print(
        f"| reading that empties a wallet to cut-off command, p50 / p95 | "
        f"{percentile(cut_ms, 50):.0f} / {percentile(cut_ms, 95):.0f} ms | under 1 s p95 |"
    )
    print(
        f"| top-up to restore command, p50 / p95 | "
        f"{percentile(restore_ms, 50):.0f} / {percentile(restore_ms, 95):.0f} ms | "
        "under 1 s p95 |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
