"""The server's MQTT side: readings and state reports in, commands out (QoS 1 both ways).

The server connects with a fixed client id and a persistent session
(``clean_session=False``), so the broker keeps its subscriptions and queues the
meters' messages while the server is away, and a broker with persistence keeps
both across its own restart. Messages are acknowledged to the broker only after
the database transaction that applied them has committed (paho's manual ack):
a crash in between means the broker sends them again, and readings and acks are
idempotent, so nothing is lost and nothing applies twice.

Incoming messages are drained in batches (up to ``batch_max`` or ``batch_wait_s``)
into one :meth:`MeteringService.ingest` call, the hot path's unit of work.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from central.metering.service import MeteringService
from domain.metering_messages import (
    GATEWAY_ROOT,
    TOPIC_ROOT,
    Command,
    MessageError,
    Reading,
    StateReport,
    command_topic,
    decode_json,
    encode,
    gateway_readings,
    serial_of,
)

log = logging.getLogger("central.metering.mqtt")


def broker_address(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    if parsed.scheme not in ("mqtt", "tcp") or not parsed.hostname:
        raise ValueError(f"an MQTT broker is mqtt://host:port, not {url!r}")
    return parsed.hostname, parsed.port or 1883


class MqttBridge:
    def __init__(
        self,
        service: MeteringService,
        url: str,
        *,
        client_id: str = "prepaid-central",
        batch_max: int = 5000,
        batch_wait_s: float = 0.02,
    ) -> None:
        self.service = service
        self.host, self.port = broker_address(url)
        self.batch_max = batch_max
        self.batch_wait_s = batch_wait_s
        self.connected = threading.Event()
        self._inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            manual_ack=True,
        )
        self.client.max_inflight_messages_set(1000)
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: object,
        reason: object,
        properties: object,
    ) -> None:
        client.subscribe(
            [
                (f"{TOPIC_ROOT}/+/reading", 1),
                (f"{TOPIC_ROOT}/+/state", 1),
                (f"{GATEWAY_ROOT}/+/readings", 1),
            ]
        )
        log.info("mqtt connected", extra={"broker": f"{self.host}:{self.port}"})

    def _on_subscribe(
        self, client: mqtt.Client, userdata: object, mid: int, reasons: object, properties: object
    ) -> None:
        # Ready only once the broker holds the subscription: a reading published
        # before that would find no subscriber on a brand-new session.
        self.connected.set()
        self.service.wake()  # re-send whatever waits unacknowledged

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: object,
        reason: object,
        properties: object,
    ) -> None:
        self.connected.clear()
        log.warning("mqtt disconnected: %s", reason)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        self._inbox.put(message)

    def publish(self, command: Command) -> None:
        self.client.publish(command_topic(command.serial), encode(command), qos=1)

    def start(self) -> None:
        self.service.publishers.append(self.publish)
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        self._stop.clear()
        self._worker = threading.Thread(target=self._drain, name="mqtt-ingest", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=10)
        if self.publish in self.service.publishers:
            self.service.publishers.remove(self.publish)
        self.client.disconnect()
        self.client.loop_stop()

    def _take(self) -> list[mqtt.MQTTMessage]:
        try:
            first = self._inbox.get(timeout=0.1)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.batch_wait_s
        while len(batch) < self.batch_max:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self._inbox.get(timeout=max(remaining, 0.0005)))
            except queue.Empty:
                break
            if remaining <= 0 and self._inbox.empty():
                break
        return batch

    def _drain(self) -> None:
        while not self._stop.is_set():
            batch = self._take()
            if not batch:
                continue
            started = time.perf_counter()
            try:
                self.handle(batch)
            except Exception:
                log.exception("mqtt batch failed; it will be redelivered")
                continue
            handled = time.perf_counter()
            for message in batch:
                if message.qos > 0:
                    self.client.ack(message.mid, message.qos)
            log.debug(
                "mqtt batch of %d: %.3f s to apply, %.3f s to acknowledge",
                len(batch),
                handled - started,
                time.perf_counter() - handled,
            )

    def handle(self, batch: list[mqtt.MQTTMessage]) -> None:
        readings: list[Reading] = []
        reports: list[StateReport] = []
        for message in batch:
            try:
                if message.topic.startswith(GATEWAY_ROOT + "/"):
                    good, refused = gateway_readings(message.payload)
                    readings.extend(good)
                    for reason in refused:
                        log.warning(
                            "gateway reading refused: %s", reason, extra={"topic": message.topic}
                        )
                    continue
                serial, kind = serial_of(message.topic)
                data = decode_json(message.payload)
                if kind == "reading":
                    readings.append(Reading.from_json(data, serial))
                elif kind == "state":
                    reports.append(StateReport.from_json(data, serial))
            except MessageError as err:  # a bad message is dropped (and acknowledged), not retried
                log.warning("mqtt message refused: %s", err, extra={"topic": message.topic})
        if readings:
            self.service.ingest(readings, actor="system:mqtt")
        if reports:
            self.service.report(reports)
