"""A fleet of simulated meters reporting to the server over HTTP or MQTT.

    prepaid sim meters --count 12 --server http://127.0.0.1:8470 --token TOKEN
    prepaid sim meters --count 12 --mqtt mqtt://127.0.0.1:1883 --server ... --token ...

With a server and a token, the fleet simulates the first N meters the server has
registered (``GET /v1/metering/meters``); otherwise N meters named ``SIM-...``.
Time runs ``--speed`` times faster than the wall clock; every ``--interval``
simulated seconds each mains meter reports (battery meters when they wake). Over
HTTP the commands come back in the answers; over MQTT they arrive on each
meter's command topic. Every command is answered with a state report (the ack).
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import queue
import signal
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import FrameType
from typing import Any, Protocol
from urllib.parse import urlparse

from domain.metering_messages import (
    TOPIC_ROOT,
    Command,
    MessageError,
    Reading,
    StateReport,
    decode_json,
    encode,
    reading_topic,
    serial_of,
    state_topic,
)
from terminal_drivers.meter.model import SimMeter

log = logging.getLogger("terminal_drivers.meter.fleet")


class Link(Protocol):
    """How the fleet reaches the server."""

    def send(self, readings: Sequence[Reading]) -> list[Command]: ...

    def report(self, reports: Sequence[StateReport]) -> list[Command]: ...

    def close(self) -> None: ...


class HttpLink:
    def __init__(self, server: str, token: str, timeout_s: float = 60) -> None:
        parsed = urlparse(server)
        self.conn = http.client.HTTPConnection(
            parsed.hostname or "127.0.0.1", parsed.port or 80, timeout=timeout_s
        )
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body: Any = None) -> Any:
        payload = None if body is None else json.dumps(body).encode()
        self.conn.request(method, path, body=payload, headers=self.headers)
        response = self.conn.getresponse()
        data = json.loads(response.read() or b"null")
        if response.status >= 300:
            raise OSError(f"{method} {path}: {response.status} {data}")
        return data

    def send(self, readings: Sequence[Reading]) -> list[Command]:
        answer = self.call(
            "POST", "/v1/metering/readings", {"readings": [r.to_json() for r in readings]}
        )
        return [Command.from_json(c) for c in answer["commands"]]

    def report(self, reports: Sequence[StateReport]) -> list[Command]:
        answer = self.call(
            "POST", "/v1/metering/state", {"reports": [r.to_json() for r in reports]}
        )
        return [Command.from_json(c) for c in answer["commands"]]

    def close(self) -> None:
        self.conn.close()


class MqttLink:
    """One MQTT connection for the whole fleet, with a persistent session (QoS 1)."""

    def __init__(self, url: str, client_id: str = "prepaid-sim-fleet") -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        parsed = urlparse(url)
        self.inbox: queue.Queue[Command] = queue.Queue()
        self.connected = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False
        )
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(min_delay=1, max_delay=3)

        def on_connect(client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
            client.subscribe(f"{TOPIC_ROOT}/+/command", qos=1)

        def on_subscribe(client: Any, userdata: Any, mid: Any, reasons: Any, props: Any) -> None:
            self.connected.set()  # commands can reach us from now on

        def on_disconnect(client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
            self.connected.clear()

        def on_message(client: Any, userdata: Any, message: Any) -> None:
            try:
                serial_of(message.topic)
                self.inbox.put(Command.from_json(decode_json(message.payload)))
            except MessageError as err:
                log.warning("command refused: %s", err)

        self.client.on_connect = on_connect
        self.client.on_disconnect = on_disconnect
        self.client.on_message = on_message
        self.client.on_subscribe = on_subscribe
        self.client.connect_async(parsed.hostname or "127.0.0.1", parsed.port or 1883, 30)
        self.client.loop_start()

    def send(self, readings: Sequence[Reading]) -> list[Command]:
        for reading in readings:
            self.client.publish(reading_topic(reading.serial), encode(reading), qos=1)
        return self.received()

    def report(self, reports: Sequence[StateReport]) -> list[Command]:
        for report in reports:
            self.client.publish(state_topic(report.serial), encode(report), qos=1)
        return []

    def received(self, wait_s: float = 0.0) -> list[Command]:
        out: list[Command] = []
        try:
            out.append(self.inbox.get(timeout=wait_s) if wait_s else self.inbox.get_nowait())
            while True:
                out.append(self.inbox.get_nowait())
        except queue.Empty:
            pass
        return out

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Fleet:
    def __init__(self, sims: Sequence[SimMeter], link: Link, *, wake_s: int = 3600) -> None:
        self.sims = {s.serial: s for s in sims}
        self.link = link
        self.wake_s = wake_s
        self.next_wake: dict[str, datetime] = {}

    def step(self, now: datetime) -> int:
        """Report every meter that is due, then obey what came back; returns readings sent."""
        due = []
        for sim in self.sims.values():
            if sim.power == "battery":
                wake = self.next_wake.get(sim.serial)
                if wake is not None and now < wake:
                    continue
                self.next_wake[sim.serial] = now + timedelta(seconds=self.wake_s)
            due.append(sim.advance(now))
        commands = self.link.send(due) if due else []
        self.obey(commands, now)
        return len(due)

    def obey(self, commands: Sequence[Command], now: datetime) -> None:
        while commands:
            reports = [self.sims[c.serial].apply(c, now) for c in commands if c.serial in self.sims]
            for sim in self.sims.values():
                if sim.resident_opens_valve():
                    reports.append(sim.apply_report(now))
            commands = self.link.report(reports) if reports else []


def _server_meters(link: HttpLink, count: int) -> list[SimMeter]:
    rows = link.call("GET", "/v1/metering/meters")
    sims = []
    for row in rows[:count]:
        if row["status"] != "active":
            continue
        sim = SimMeter(
            row["serial"], row["utility"], value=Decimal(row["last_value"]), power=row["power"]
        )
        sim.last_at = datetime.fromisoformat(row["last_at"])
        sims.append(sim)
    return sims


def _synthetic(count: int, start: datetime) -> list[SimMeter]:
    utilities = ("electricity", "water", "gas")
    sims = []
    for i in range(count):
        utility = utilities[i % 3]
        sim = SimMeter(
            f"SIM-{utility[0].upper()}-{i:05d}",
            utility,
            power="battery" if utility == "gas" else "mains",
            rate_registers=utility == "electricity" and i % 2 == 0,
        )
        sim.last_at = start
        sims.append(sim)
    return sims


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="prepaid sim meters", description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--server", default="http://127.0.0.1:8470")
    parser.add_argument("--token", help="a bearer token (prepaid central token ...)")
    parser.add_argument("--mqtt", help="report over MQTT to this broker (mqtt://host:port)")
    parser.add_argument("--speed", type=float, default=60.0, help="simulated seconds a second")
    parser.add_argument("--interval", type=int, default=900, help="simulated s between reports")
    parser.add_argument("--steps", type=int, default=0, help="stop after this many (0: never)")
    args = parser.parse_args(list(argv))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    http_link = HttpLink(args.server, args.token) if args.token else None
    now = datetime.now(UTC)
    sims = _server_meters(http_link, args.count) if http_link else _synthetic(args.count, now)
    if not sims:
        print("no meters to simulate: register some (or seed the demo) first")
        return 1
    link: Link
    if args.mqtt:
        link = MqttLink(args.mqtt, client_id=f"prepaid-sim-fleet-{args.count}")
    elif http_link is not None:
        link = http_link
    else:
        parser.error("give --token (HTTP) or --mqtt")
    fleet = Fleet(sims, link)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    sim_now = max((s.last_at or now) for s in sims)
    print(
        f"simulating {len(sims)} meters, one report every {args.interval} simulated s", flush=True
    )
    steps = 0
    while not stop.is_set():
        sim_now += timedelta(seconds=args.interval)
        sent = fleet.step(sim_now)
        if isinstance(link, MqttLink):
            fleet.obey(link.received(0.2), sim_now)
        steps += 1
        states = {s.state.value for s in sims}
        log.info("step %d at %s: %d readings; states %s", steps, sim_now.isoformat(), sent, states)
        if args.steps and steps >= args.steps:
            break
        stop.wait(args.interval / args.speed)
    link.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(__import__("sys").argv[1:]))
