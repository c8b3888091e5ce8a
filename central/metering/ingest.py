"""Readings in, usage charged: the hot path, one database transaction per batch.

For each meter, its readings in time order:

- the same time again with the same value is a *duplicate* (answered, not stored
  twice); another value at a time already stored is *rejected*;
- a reading older than the last charged one is *placed* in the history: the
  interval around it was already charged, so it moves no money;
- a register lower than before is a *rollover* when wrapping past the register's
  digits gives a plausible step, else a negative step, *held*; a step larger than
  the meter could plausibly use in the time is *held* too. Held readings wait for
  a manager to accept or correct them, and charge nothing until then;
- otherwise the usage is priced (:mod:`domain.tariffs`), the sub-minor remainder
  carried on the meter, and the charge posted to the unit's wallet for that
  utility under the key ``reading:<serial>:<time>``. What the wallet's floor
  cannot take (usage in friendly credit) goes to the unit's debt account.

Accounts and meters are read once per batch and written in bulk, as the ledger's
own batch does. Afterwards the wallets touched are checked for warnings and cuts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select, update

from central.ledger.batch import BatchAccounts
from central.metering import notify, supply
from central.metering.batch_io import (
    BatchWriter,
    MeterState,
    RawStatements,
    load_meters,
    stored_readings,
)
from central.metering.environment import Environment
from central.metering.pricing import charge_for, register_step
from central.metering.tables import meters, readings
from central.metering.usage_postings import floor_areas, post_shared, post_usage
from domain.metering_messages import Command, Reading, SupplyState
from domain.money import split_minor
from domain.tariffs import TariffError
from domain.wallets import Purpose, revenue_code, wallet_code


@dataclass(frozen=True, slots=True)
class ReadingVerdict:
    serial: str
    taken_at: str
    verdict: str  # charged | placed | held | duplicate | rejected
    usage: str | None = None
    amount: int = 0
    code: str | None = None
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "taken_at": self.taken_at,
            "verdict": self.verdict,
            "usage": self.usage,
            "amount": self.amount,
            "code": self.code,
            "reason": self.reason,
        }


@dataclass(slots=True)
class IngestResult:
    verdicts: list[ReadingVerdict] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)  # to put on the wire after commit
    cut: list[str] = field(default_factory=list)  # serials whose supply was cut or deferred


def ingest(
    conn: Connection,
    env: Environment,
    batch: Sequence[Reading],
    *,
    now: datetime,
    actor: str = "system:metering",
) -> IngestResult:
    """Store, classify and charge a batch of readings inside the caller's transaction."""
    result = IngestResult()
    by_meter: dict[str, list[Reading]] = {}
    positions: dict[str, list[int]] = {}
    for i, reading in enumerate(batch):
        by_meter.setdefault(reading.serial, []).append(reading)
        positions.setdefault(reading.serial, []).append(i)
    found = load_meters(conn, list(by_meter))
    stored = stored_readings(conn, by_meter, found)
    book = BatchAccounts(conn, env.estate.currency)
    codes = set()
    shares: list[tuple[str, Decimal]] | None = None
    for m in found.values():
        if m.unit is not None:
            codes.add(wallet_code(m.unit, Purpose(m.utility)))
        elif shares is None:
            shares = floor_areas(conn)
        codes.add(revenue_code(m.utility))  # debt accounts load when first needed
    for m in found.values():
        if m.unit is None and shares:
            codes.update(wallet_code(unit, Purpose(m.utility)) for unit, _ in shares)
    book.load(codes)
    writer = BatchWriter()
    zone = env.estate.zone
    currency = env.estate.currency
    verdicts: dict[int, ReadingVerdict] = {}
    touched: dict[str, MeterState] = {}
    raw = RawStatements(conn)
    received = raw.time(now)
    for serial, items in by_meter.items():
        meter = found.get(serial)
        ordered = sorted(zip(positions[serial], items, strict=True), key=lambda p: p[1].taken_at)
        for index, reading in ordered:
            at = reading.taken_at.isoformat()
            if meter is None:
                verdicts[index] = ReadingVerdict(
                    serial,
                    at,
                    "rejected",
                    code="unknown_meter",
                    reason=f"no meter {serial!r} is registered",
                )
                continue
            key = (meter.id, reading.taken_at)
            if key in stored:
                if Decimal(stored[key]) == reading.value:
                    verdicts[index] = ReadingVerdict(serial, at, "duplicate")
                else:
                    verdicts[index] = ReadingVerdict(
                        serial,
                        at,
                        "rejected",
                        code="conflict",
                        reason=f"{stored[key]} was already read at {at}",
                    )
                continue
            if meter.status != "active" or reading.taken_at <= meter.installed_at:
                verdicts[index] = ReadingVerdict(
                    serial,
                    at,
                    "rejected",
                    code="not_installed",
                    reason="the meter was not installed then",
                )
                continue
            if reading.value >= Decimal(10) ** meter.digits:
                verdicts[index] = ReadingVerdict(
                    serial,
                    at,
                    "rejected",
                    code="out_of_range",
                    reason=f"meter {serial} shows {meter.digits} digits",
                )
                continue
            value = str(reading.value)
            registers = (
                None
                if reading.registers is None
                else json.dumps({k: str(v) for k, v in reading.registers.items()})
            )
            stored[key] = value
            taken = raw.time(reading.taken_at)
            if reading.taken_at < meter.last_at:
                writer.readings.append(
                    (meter.id, taken, value, registers, "placed", None, 0, None, "", received)
                )
                verdicts[index] = ReadingVerdict(
                    serial, at, "placed", reason="inside an interval already charged"
                )
                continue
            hours = Decimal((reading.taken_at - meter.last_at).total_seconds()) / 3600
            step, why = register_step(meter, reading.value, hours)
            if step is None:
                writer.readings.append(
                    (meter.id, taken, value, registers, "held", None, 0, None, why, received)
                )
                verdicts[index] = ReadingVerdict(
                    serial, at, "held", code="held_for_review", reason=why
                )
                continue
            try:
                amount, usage = charge_for(meter, env, reading, step, zone)
            except TariffError as err:
                verdicts[index] = ReadingVerdict(
                    serial, at, "rejected", code="no_tariff", reason=str(err)
                )
                stored.pop(key)
                continue
            minor, meter.carry = split_minor(amount, currency, meter.carry)
            meter.last_value = reading.value
            if reading.registers is not None:
                meter.last_registers = dict(reading.registers)
            meter.last_at = reading.taken_at
            meter.changed = True
            transaction_id = None
            if minor > 0 and meter.unit is not None:
                transaction_id = post_usage(
                    book, writer, meter, minor, usage, reading, received, actor
                )
                touched[serial] = meter
            elif minor > 0 and shares:
                transaction_id = post_shared(
                    book, writer, meter, minor, usage, reading, received, actor, shares
                )
            used = str(usage)
            writer.readings.append(
                (
                    meter.id,
                    taken,
                    value,
                    registers,
                    "charged",
                    used,
                    minor,
                    transaction_id,
                    why,
                    received,
                )
            )
            verdicts[index] = ReadingVerdict(serial, at, "charged", used, minor, reason=why)
    writer.flush(conn, book, found)
    result.verdicts = [verdicts[i] for i in range(len(batch))]
    _after_charges(conn, env, book, touched, now, result)
    seen = [s for s in by_meter if s in found]
    for serial in seen:
        r = max(by_meter[serial], key=lambda x: x.taken_at)
        if r.supply is not None:
            supply.report_state(
                conn,
                serial=serial,
                state=r.supply,
                at=r.taken_at,
                command_id=None,
                policies=env.policies,
            )
    return result


def _after_charges(
    conn: Connection,
    env: Environment,
    book: BatchAccounts,
    touched: dict[str, MeterState],
    now: datetime,
    result: IngestResult,
) -> None:
    """Warnings and cut-offs for the wallets this batch charged."""
    wallets: dict[str, tuple[str, str, int, int]] = {}
    for meter in touched.values():
        assert meter.unit is not None
        state = book.states[wallet_code(meter.unit, Purpose(meter.utility))]
        floor = state.account.floor if state.account.floor is not None else 0
        available = state.balance - state.held
        wallets[state.account.code] = (meter.unit, meter.utility, available, state.account.id)
        if available <= floor and meter.desired_state == SupplyState.ON.value:
            command = supply.request_cut(
                conn,
                meter.ref(),
                now=now,
                policy=env.policies[meter.utility],
                holidays=env.holidays,
                zone=env.estate.zone,
                reason=f"{meter.utility} wallet at {available} (floor {floor})",
            )
            if command is not None:
                result.cut.append(meter.serial)
    notify.check_wallets(conn, env, list(wallets.values()), now=now)


def review_held(
    conn: Connection,
    env: Environment,
    *,
    reading_id: int,
    action: str,
    value: Decimal | None,
    now: datetime,
    actor: str,
) -> ReadingVerdict:
    """A manager's decision on a held reading: accept it, correct its value, or reject it."""
    from central.errors import InvalidRequest, NotFound

    row = conn.execute(
        select(readings, meters.c.serial)
        .join(meters, meters.c.id == readings.c.meter_id)
        .where(readings.c.id == reading_id)
    ).first()
    if row is None:
        raise NotFound(f"there is no reading {reading_id}", code="unknown_reading")
    if row.status != "held":
        raise InvalidRequest(f"reading {reading_id} is {row.status}, not held", code="not_held")
    at = row.taken_at.isoformat()
    if action == "reject":
        conn.execute(
            update(readings)
            .where(readings.c.id == reading_id)
            .values(status="rejected", reason=f"rejected by {actor}: {row.reason}"[:200])
        )
        return ReadingVerdict(row.serial, at, "rejected", reason="rejected on review")
    if action not in ("accept", "correct") or (action == "correct" and value is None):
        raise InvalidRequest("review: accept, correct (with a value) or reject", code="bad_review")
    meter = load_meters(conn, [row.serial])[row.serial]
    if row.taken_at <= meter.last_at:
        raise InvalidRequest(
            "a later reading was charged since: correct the later one instead",
            code="superseded",
        )
    new_value = value if action == "correct" and value is not None else Decimal(row.value)
    step = new_value - meter.last_value
    if step < 0:
        step += Decimal(10) ** meter.digits
    registers = (
        None
        if row.registers is None
        else {k: Decimal(v) for k, v in json.loads(row.registers).items()}
    )
    reading = Reading(row.serial, row.taken_at, new_value, registers)
    book = BatchAccounts(conn, env.estate.currency)
    if meter.unit is not None:
        book.load([wallet_code(meter.unit, Purpose(meter.utility))])
    writer = BatchWriter()
    amount, usage = charge_for(meter, env, reading, step, env.estate.zone)
    minor, meter.carry = split_minor(amount, env.estate.currency, meter.carry)
    meter.last_value, meter.last_at, meter.changed = new_value, row.taken_at, True
    if registers is not None:
        meter.last_registers = registers
    transaction_id = None
    if minor > 0 and meter.unit is not None:
        transaction_id = post_usage(
            book, writer, meter, minor, usage, reading, RawStatements(conn).time(now), actor
        )
    writer.flush(conn, book, {meter.serial: meter})
    conn.execute(
        update(readings)
        .where(readings.c.id == reading_id)
        .values(
            status="charged",
            value=str(new_value),
            usage=str(usage),
            amount=minor,
            transaction_id=transaction_id,
            reason=f"{action}ed by {actor}",
        )
    )
    result = IngestResult()
    _after_charges(conn, env, book, {meter.serial: meter}, now, result)
    return ReadingVerdict(row.serial, at, "charged", str(usage), minor)
