"""The metering service inside the server process: ingestion, the supply worker, dispatch.

One :class:`MeteringService` per server. HTTP routes and the MQTT bridge hand it
readings and state reports; each batch is one database transaction, and the
commands it produced are put on the wire after the commit. A worker thread ticks
every ``tick_s`` (and at once when woken): it reads new top-ups from the ledger
(debt recovery, restore), runs due deferred cut-offs, expires battery commands,
re-sends unacknowledged ones, and delivers the notification outbox.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import OperationalError

from central.db.database import Database
from central.db.types import utcnow
from central.estate import settings as estate_settings
from central.metering import environment, ingest, notify, supply
from domain.metering_messages import Command, Reading, StateReport

log = logging.getLogger("central.metering")

Publish = Callable[[Command], None]


@dataclass(frozen=True, slots=True)
class MeteringSettings:
    """The metering knobs, from the environment (see README, Metering and supply control)."""

    mqtt_url: str | None = None  # mqtt://host:port; None: meters report over HTTP only
    tick_s: float = 0.2
    worker: bool = True
    sms_url: str | None = None  # the SMS gateway's endpoint; None: SMS is only logged
    sms_key: str = ""
    smtp_host: str | None = None  # None: e-mail is only logged
    smtp_port: int = 25
    mail_from: str = "prepaid@localhost"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MeteringSettings:
        e = os.environ if env is None else env
        return cls(
            mqtt_url=e.get("PREPAID_MQTT_URL") or None,
            tick_s=float(e.get("PREPAID_METERING_TICK_S", "0.2")),
            worker=e.get("PREPAID_METERING_WORKER", "1") not in ("0", "false", "no"),
            sms_url=e.get("PREPAID_SMS_URL") or None,
            sms_key=e.get("PREPAID_SMS_KEY", ""),
            smtp_host=e.get("PREPAID_SMTP_HOST") or None,
            smtp_port=int(e.get("PREPAID_SMTP_PORT", "25")),
            mail_from=e.get("PREPAID_MAIL_FROM", "prepaid@localhost"),
        )

    def channels(self) -> dict[str, notify.Channel]:
        """The real channels where configured; the logging ones elsewhere."""
        channels = notify.development_channels()
        if self.sms_url:
            channels["sms"] = notify.SmsGateway(self.sms_url, self.sms_key)
        if self.smtp_host:
            channels["email"] = notify.SmtpEmail(self.smtp_host, self.smtp_port, self.mail_from)
        return channels


class MeteringService:
    def __init__(
        self,
        db: Database,
        *,
        channels: Mapping[str, notify.Channel] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.channels = channels or notify.development_channels()
        self.clock = clock
        self.publishers: list[Publish] = []
        self._env: environment.Environment | None = None
        self._env_at = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one writer at a time from this process

    # -- configuration -------------------------------------------------------------------

    def environment(self) -> environment.Environment:
        """Tariffs, policies and holidays, re-read at most every few seconds."""
        if self._env is None or time.monotonic() - self._env_at > 5:
            with self.db.read() as conn:
                estate = estate_settings.load(conn)
                self._env = environment.environment(conn, estate)
            self._env_at = time.monotonic()
        return self._env

    def invalidate(self) -> None:
        self._env = None

    # -- readings and reports ------------------------------------------------------------

    def ingest(
        self, batch: Sequence[Reading], *, actor: str = "system:metering"
    ) -> tuple[ingest.IngestResult, list[Command]]:
        """Charge a batch; returns its verdicts and the commands for HTTP meters in it."""
        env = self.environment()
        awake = {r.serial for r in batch}
        with self._lock, self.db.write() as conn:
            now = self.clock()
            result = ingest.ingest(conn, env, batch, now=now, actor=actor)
            for_http = supply.commands_to_send(conn, now=now, transport="http", awake=awake)
            for_mqtt = supply.commands_to_send(conn, now=now, transport="mqtt", awake=awake)
        self._publish(for_mqtt)
        return result, for_http

    def report(self, reports: Sequence[StateReport]) -> tuple[list[str], list[Command]]:
        env = self.environment()
        with self._lock, self.db.write() as conn:
            verdicts = [
                supply.report_state(
                    conn,
                    serial=r.serial,
                    state=r.state,
                    at=r.at,
                    command_id=r.command_id,
                    policies=env.policies,
                )
                for r in reports
            ]
            now = self.clock()
            awake = {r.serial for r in reports}
            for_http = supply.commands_to_send(conn, now=now, transport="http", awake=awake)
            for_mqtt = supply.commands_to_send(conn, now=now, transport="mqtt", awake=awake)
        self._publish(for_mqtt)
        return verdicts, for_http

    def _publish(self, commands: Sequence[Command]) -> None:
        for command in commands:
            for publish in self.publishers:
                try:
                    publish(command)
                except Exception:
                    log.exception("publish failed", extra={"meter": command.serial})

    # -- the worker ----------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> list[Command]:
        """One pass of the supply worker; returns the commands it published over MQTT."""
        env = self.environment()
        with self.db.read() as conn:
            work = supply.work_waiting(conn)
        if not work:
            return []  # idle: no write transaction to contend with ingestion
        with self._lock, self.db.write() as conn:
            when = now or self.clock()
            if "ledger" in work:
                supply.scan_top_ups(conn, estate=env.estate, now=when, policies=env.policies)
                notify.rearm(conn, now=when)
            if "ledger" in work or "supply" in work:
                supply.settle_supply(
                    conn,
                    now=when,
                    policies=env.policies,
                    holidays=env.holidays,
                    zone=env.estate.zone,
                )
            commands = supply.commands_to_send(conn, now=when, transport="mqtt")
            if "outbox" in work:
                notify.deliver_due(conn, self.channels, now=when)
        self._publish(commands)
        return commands

    def wake(self) -> None:
        self._wake.set()

    def start(self, tick_s: float = 0.2) -> None:
        if self._thread is not None:
            return
        self._stop.clear()

        def run() -> None:
            while not self._stop.is_set():
                try:
                    self.tick()
                except estate_settings.EstateNotInitialised:
                    pass
                except OperationalError as err:  # a busy database: the next tick retries
                    log.warning("supply tick failed: %s", err)
                except Exception:
                    log.exception("supply tick failed")
                self._wake.wait(tick_s)
                self._wake.clear()

        self._thread = threading.Thread(target=run, name="metering-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
