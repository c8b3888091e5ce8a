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
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select, update

from central.estate.settings import Estate
from central.ledger.batch import BatchAccounts
from central.ledger.plans import Plan
from central.ledger.posting import Leg, new_transaction_id
from central.metering import notify, registry, supply
from central.metering.tables import meters, readings
from domain.metering_messages import Command, Reading, SupplyState
from domain.money import split_minor
from domain.tariffs import PeriodUsage, TariffError, price_usage, standing_charge
from domain.wallets import Purpose, revenue_code, wallet_code

CHUNK = 500


@dataclass(slots=True)
class MeterState:
    id: int
    serial: str
    unit: str | None
    utility: str
    digits: int
    multiplier: Decimal
    power: str
    transport: str
    has_rate_registers: bool
    supply_kind: str
    tariff_code: str
    wake_interval_s: int
    max_per_hour: Decimal
    status: str
    installed_at: datetime
    removed_at: datetime | None
    last_value: Decimal
    last_registers: dict[str, Decimal] | None
    last_at: datetime
    carry: Decimal
    period: PeriodUsage
    standing_through: date | None
    desired_state: str
    reported_state: str | None
    changed: bool = False

    def ref(self) -> supply.MeterRef:
        return supply.MeterRef(
            self.id,
            self.serial,
            self.unit,
            self.utility,
            self.power,
            self.transport,
            self.supply_kind,
            self.desired_state,
            self.wake_interval_s,
        )


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


def _chunks(items: Sequence[Any]) -> Any:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


class _Raw:
    """Plain DBAPI statements for the hot path's bulk reads and writes.

    SQLAlchemy's per-row parameter processing costs more than SQLite's own work
    at 10,000 readings a second, so the batch's reads and writes go to the
    driver directly: the driver's placeholder, times stored exactly as the
    ``UTCDateTime`` column stores them (naive UTC; ISO text on SQLite).
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.ph = "?" if self.sqlite else "%s"

    def time(self, moment: datetime) -> Any:
        naive = moment.astimezone(UTC).replace(tzinfo=None)
        return naive.isoformat(" ", "microseconds") if self.sqlite else naive

    @staticmethod
    def parse_time(value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)

    def select(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return list(self.conn.exec_driver_sql(sql, tuple(params)).fetchall())

    def many(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if rows:
            self.conn.exec_driver_sql(sql, list(rows))

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        marks = ", ".join([self.ph] * len(columns))
        self.many(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


_METER_COLUMNS = (
    "m.id, m.serial, u.code, m.utility, m.digits, m.multiplier, m.power, m.transport, "
    "m.has_rate_registers, m.supply_kind, m.tariff_code, m.wake_interval_s, m.max_per_hour, "
    "m.status, m.installed_at, m.removed_at, m.last_value, m.last_registers, m.last_at, "
    "m.carry, m.period_start, m.period_usage, m.standing_through, m.desired_state, "
    "m.reported_state"
)


def _load_meters(conn: Connection, serials: Sequence[str]) -> dict[str, MeterState]:
    raw = _Raw(conn)
    found: dict[str, MeterState] = {}
    parse = raw.parse_time
    for chunk in _chunks(sorted(set(serials))):
        marks = ", ".join([raw.ph] * len(chunk))
        rows = raw.select(
            f"SELECT {_METER_COLUMNS} FROM meters m LEFT JOIN units u ON u.id = m.unit_id "
            f"WHERE m.serial IN ({marks})",
            chunk,
        )
        for r in rows:
            found[r[1]] = MeterState(
                id=r[0],
                serial=r[1],
                unit=r[2],
                utility=r[3],
                digits=r[4],
                multiplier=Decimal(r[5]),
                power=r[6],
                transport=r[7],
                has_rate_registers=bool(r[8]),
                supply_kind=r[9],
                tariff_code=r[10],
                wake_interval_s=r[11],
                max_per_hour=Decimal(r[12]),
                status=r[13],
                installed_at=parse(r[14]),  # type: ignore[arg-type]
                removed_at=parse(r[15]),
                last_value=Decimal(r[16]),
                last_registers=None
                if r[17] is None
                else {k: Decimal(v) for k, v in json.loads(r[17]).items()},
                last_at=parse(r[18]),  # type: ignore[arg-type]
                carry=Decimal(r[19]),
                period=PeriodUsage(
                    None if r[20] is None else date.fromisoformat(r[20]), Decimal(r[21])
                ),
                standing_through=None if r[22] is None else date.fromisoformat(r[22]),
                desired_state=r[23],
                reported_state=r[24],
            )
    return found


def _stored(
    conn: Connection, batch: dict[str, list[Reading]], found: dict[str, MeterState]
) -> dict[tuple[int, datetime], str]:
    """Readings already stored at the batch's times: (meter id, time) -> value."""
    stored: dict[tuple[int, datetime], str] = {}
    ids = [found[s].id for s in batch if s in found]
    if not ids:
        return stored
    earliest = min(r.taken_at for s in batch if s in found for r in batch[s])
    for chunk in _chunks(ids):
        for row in conn.execute(
            select(readings.c.meter_id, readings.c.taken_at, readings.c.value).where(
                readings.c.meter_id.in_(chunk), readings.c.taken_at >= earliest
            )
        ):
            stored[(row.meter_id, row.taken_at)] = row.value
    return stored


def _step(meter: MeterState, value: Decimal, hours: Decimal) -> tuple[Decimal | None, str]:
    """The register step to ``value``, rollover understood; None and why if it must be held."""
    limit = meter.max_per_hour * max(hours, Decimal(1) / 60)
    step = value - meter.last_value
    if step < 0:
        wrapped = value + Decimal(10) ** meter.digits - meter.last_value
        if wrapped * meter.multiplier <= limit:
            return wrapped, "rollover"
        return None, f"the register went back from {meter.last_value} to {value}"
    if step * meter.multiplier > limit:
        return None, (
            f"{step * meter.multiplier} in {hours:.2f} h is more than this meter can "
            f"plausibly use ({meter.max_per_hour} an hour)"
        )
    return step, ""


def _register_steps(
    meter: MeterState, registers: dict[str, Decimal] | None
) -> dict[str, Decimal] | None:
    if not meter.has_rate_registers or registers is None or meter.last_registers is None:
        return None
    steps = {}
    for name, value in registers.items():
        before = meter.last_registers.get(name, Decimal(0))
        step = value - before
        if step < 0:
            step += Decimal(10) ** meter.digits
        steps[name] = step * meter.multiplier
    return steps


_READING_COLUMNS = (
    "meter_id",
    "taken_at",
    "value",
    "registers",
    "status",
    "usage",
    "amount",
    "transaction_id",
    "reason",
    "received_at",
)
_TRANSACTION_COLUMNS = (
    "id",
    "kind",
    "idempotency_key",
    "created_at",
    "actor",
    "memo",
)


class _Writer:
    """The batch's rows, written in bulk at the end (tuples in the column orders above)."""

    def __init__(self) -> None:
        self.readings: list[tuple[Any, ...]] = []
        self.transactions: list[tuple[Any, ...]] = []
        self.postings: list[tuple[Any, ...]] = []

    def flush(self, conn: Connection, book: BatchAccounts, found: dict[str, MeterState]) -> None:
        raw = _Raw(conn)
        ph = raw.ph
        raw.insert("transactions", _TRANSACTION_COLUMNS, self.transactions)
        raw.insert("postings", ("transaction_id", "account_id", "amount"), self.postings)
        raw.insert("readings", _READING_COLUMNS, self.readings)
        raw.many(
            f"UPDATE accounts SET balance = balance + {ph} WHERE id = {ph}",
            [(s.delta, s.account.id) for s in book.states.values() if s.delta],
        )
        for s in book.states.values():
            s.delta = 0
        raw.many(
            f"UPDATE meters SET last_value = {ph}, last_registers = {ph}, last_at = {ph}, "
            f"carry = {ph}, period_start = {ph}, period_usage = {ph}, standing_through = {ph}, "
            f"last_seen_at = {ph} WHERE id = {ph}",
            [
                (
                    str(m.last_value),
                    None
                    if m.last_registers is None
                    else json.dumps({k: str(v) for k, v in m.last_registers.items()}),
                    raw.time(m.last_at),
                    str(m.carry),
                    None if m.period.start is None else m.period.start.isoformat(),
                    str(m.period.usage),
                    None if m.standing_through is None else m.standing_through.isoformat(),
                    raw.time(m.last_at),
                    m.id,
                )
                for m in found.values()
                if m.changed
            ],
        )
        self.readings, self.transactions, self.postings = [], [], []


@dataclass(frozen=True, slots=True)
class Environment:
    """What pricing and supply need besides the readings; load once with :func:`environment`."""

    estate: Estate
    tariffs: dict[str, list[Any]]
    policies: dict[str, registry.Policy]
    holidays: frozenset[date]


def environment(conn: Connection, estate: Estate) -> Environment:
    return Environment(
        estate,
        registry.load_tariffs(conn),
        registry.load_policies(conn),
        registry.load_holidays(conn),
    )


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
    found = _load_meters(conn, list(by_meter))
    stored = _stored(conn, by_meter, found)
    book = BatchAccounts(conn, env.estate.currency)
    codes = set()
    shares: list[tuple[str, Decimal]] | None = None
    for m in found.values():
        if m.unit is not None:
            codes.add(wallet_code(m.unit, Purpose(m.utility)))
        elif shares is None:
            shares = _floor_areas(conn)
        codes.add(revenue_code(m.utility))  # debt accounts load when first needed
    for m in found.values():
        if m.unit is None and shares:
            codes.update(wallet_code(unit, Purpose(m.utility)) for unit, _ in shares)
    book.load(codes)
    writer = _Writer()
    zone = env.estate.zone
    currency = env.estate.currency
    verdicts: dict[int, ReadingVerdict] = {}
    touched: dict[str, MeterState] = {}
    raw = _Raw(conn)
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
            step, why = _step(meter, reading.value, hours)
            if step is None:
                writer.readings.append(
                    (meter.id, taken, value, registers, "held", None, 0, None, why, received)
                )
                verdicts[index] = ReadingVerdict(
                    serial, at, "held", code="held_for_review", reason=why
                )
                continue
            try:
                amount, usage = _charge(meter, env, reading, step, zone)
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
                transaction_id = _post_usage(
                    book, writer, meter, minor, usage, reading, received, actor
                )
                touched[serial] = meter
            elif minor > 0 and shares:
                transaction_id = _post_shared(
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


def _charge(
    meter: MeterState, env: Environment, reading: Reading, step: Decimal, zone: Any
) -> tuple[Decimal, Decimal]:
    usage = step * meter.multiplier
    versions = env.tariffs.get(meter.tariff_code)
    if not versions:
        raise TariffError(f"tariff {meter.tariff_code!r} does not exist")
    steps = _register_steps(meter, dict(reading.registers) if reading.registers else None)
    priced = price_usage(
        versions,
        zone=zone,
        start=meter.last_at,
        end=reading.taken_at,
        usage=usage if steps is None else sum(steps.values(), Decimal(0)),
        period=meter.period,
        registers=steps,
    )
    meter.period = priced.period
    if not any(t.standing_daily for t in versions):
        return priced.amount, usage
    standing, meter.standing_through = standing_charge(
        versions, zone=zone, through=meter.standing_through, upto=reading.taken_at
    )
    return priced.amount + standing, usage


def _post_usage(
    book: BatchAccounts,
    writer: _Writer,
    meter: MeterState,
    minor: int,
    usage: Decimal,
    reading: Reading,
    created: Any,
    actor: str,
) -> str:
    assert meter.unit is not None
    wallet = book.states[wallet_code(meter.unit, Purpose(meter.utility))]
    revenue = book.system(revenue_code(meter.utility), "revenue")
    floor = wallet.account.floor if wallet.account.floor is not None else 0
    room = max(0, wallet.balance - wallet.held - floor)
    fit = min(minor, room)
    legs = [Leg(revenue, minor)]
    if fit:
        legs.append(Leg(wallet.account, -fit))
    if minor - fit:
        debt = book.system(supply.debt_code(meter.unit, meter.utility), "debt")
        legs.append(Leg(debt, -(minor - fit)))
    book.admit(Plan("usage", legs))
    transaction_id = os.urandom(16).hex()  # as the ledger's ids, without a UUID object
    writer.transactions.append(
        (
            transaction_id,
            "usage",
            f"reading:{meter.serial}:{reading.taken_at.isoformat()}",
            created,
            actor,
            f"{usage} {registry.REGISTER_UNITS[meter.utility]} {meter.utility}",
        )
    )
    writer.postings.extend((transaction_id, leg.account.id, leg.amount) for leg in legs)
    return transaction_id


def _floor_areas(conn: Connection) -> list[tuple[str, Decimal]]:
    """Every flat's code and floor area: how common-area usage is shared out."""
    from central.db.schema import units

    return [
        (r.code, Decimal(str(r.area_m2)))
        for r in conn.execute(
            select(units.c.code, units.c.area_m2)
            .where(units.c.kind == "flat")
            .order_by(units.c.code)
        )
    ]


def share_out(amount: int, weights: Sequence[tuple[str, Decimal]]) -> list[tuple[str, int]]:
    """Split whole minor units by weight; the largest remainders get the odd units."""
    total = sum((w for _, w in weights), Decimal(0))
    if total <= 0:
        return []
    exact = [(code, amount * w / total) for code, w in weights]
    parts = [(code, int(x)) for code, x in exact]
    left = amount - sum(p for _, p in parts)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i][1] - parts[i][1]), exact[i][0]))
    bumped = set(order[:left])
    return [(code, p + (1 if i in bumped else 0)) for i, (code, p) in enumerate(parts)]


def _post_shared(
    book: BatchAccounts,
    writer: _Writer,
    meter: MeterState,
    minor: int,
    usage: Decimal,
    reading: Reading,
    created: Any,
    actor: str,
    weights: Sequence[tuple[str, Decimal]],
) -> str:
    """A common-area meter's charge, shared out to the flats by floor area: one
    transaction, one leg per flat (each visible on its wallet's statement)."""
    revenue = book.system(revenue_code(meter.utility), "revenue")
    legs = [Leg(revenue, minor)]
    for unit, share in share_out(minor, weights):
        if share <= 0:
            continue
        wallet = book.states[wallet_code(unit, Purpose(meter.utility))]
        floor = wallet.account.floor if wallet.account.floor is not None else 0
        fit = min(share, max(0, wallet.balance - wallet.held - floor))
        if fit:
            legs.append(Leg(wallet.account, -fit))
        if share - fit:
            legs.append(
                Leg(book.system(supply.debt_code(unit, meter.utility), "debt"), fit - share)
            )
    book.admit(Plan("usage", legs))
    transaction_id = new_transaction_id()
    writer.transactions.append(
        (
            transaction_id,
            "usage",
            f"reading:{meter.serial}:{reading.taken_at.isoformat()}",
            created,
            actor,
            f"shared area: {usage} {registry.REGISTER_UNITS[meter.utility]} {meter.utility} "
            "by floor area",
        )
    )
    writer.postings.extend((transaction_id, leg.account.id, leg.amount) for leg in legs)
    return transaction_id


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
    meter = _load_meters(conn, [row.serial])[row.serial]
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
    writer = _Writer()
    amount, usage = _charge(meter, env, reading, step, env.estate.zone)
    minor, meter.carry = split_minor(amount, env.estate.currency, meter.carry)
    meter.last_value, meter.last_at, meter.changed = new_value, row.taken_at, True
    if registers is not None:
        meter.last_registers = registers
    transaction_id = None
    if minor > 0 and meter.unit is not None:
        transaction_id = _post_usage(
            book, writer, meter, minor, usage, reading, _Raw(conn).time(now), actor
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
