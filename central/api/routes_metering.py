"""Metering endpoints: meters, tariffs, policies, readings, supply state, usage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, time
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select

from central.api.deps import Db, EstateDep, require
from central.auth.principal import Principal, Role
from central.db.schema import units
from central.db.types import utcnow
from central.errors import InvalidRequest
from central.metering import ingest, registry, supply
from central.metering.service import MeteringService, MeteringSettings
from central.metering.tables import meters, readings, supply_events
from domain.metering_messages import MessageError, Reading, StateReport
from domain.tariffs import Tariff, TariffError


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the metering service (worker, MQTT bridge) with the server; stop it after."""
    settings = MeteringSettings.from_env()
    service = MeteringService(app.state.db, channels=settings.channels())
    app.state.metering = service
    bridge = None
    if settings.mqtt_url:
        from central.metering.mqtt_bridge import MqttBridge

        bridge = MqttBridge(service, settings.mqtt_url)
        bridge.start()
    if settings.worker:
        service.start(settings.tick_s)
    try:
        yield
    finally:
        service.stop()
        if bridge is not None:
            bridge.stop()


# A register value or a multiplier as text: digits, perhaps a fraction; never a float.
DecimalText = Annotated[str, Field(pattern=r"^[0-9]{1,12}(\.[0-9]{1,9})?$")]

router = APIRouter(prefix="/v1/metering", tags=["metering"], lifespan=lifespan)

ManagerRoles = require(Role.MANAGER)
SetupRoles = require(Role.MANAGER, Role.TECHNICIAN)
MeterRoles = require(Role.MANAGER, Role.TECHNICIAN, Role.TERMINAL)
ReadRoles = require(Role.MANAGER, Role.AUDITOR)


def service_of(request: Request) -> MeteringService:
    service: MeteringService | None = getattr(request.app.state, "metering", None)
    if service is None:  # an app used without its lifespan (no worker)
        service = MeteringService(request.app.state.db)
        request.app.state.metering = service
    return service


Service = Annotated[MeteringService, Depends(service_of)]


class MeterIn(BaseModel):
    serial: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    unit: str | None = Field(None, max_length=32)
    utility: Literal["electricity", "water", "gas"]
    tariff: str = Field(min_length=1, max_length=32)
    power: Literal["mains", "battery"] = "mains"
    transport: Literal["http", "mqtt"] = "http"
    digits: int = Field(8, ge=3, le=12)
    multiplier: DecimalText = "1"
    has_rate_registers: bool = False
    supply_kind: Literal["relay", "valve", "none"] | None = None
    wake_interval_s: int = Field(0, ge=0, le=7 * 86400)
    max_per_hour: DecimalText | None = None
    start_value: DecimalText = "0"
    installed_at: AwareDatetime | None = None
    replaces: str | None = Field(None, max_length=64)


class RemovalIn(BaseModel):
    final_value: DecimalText
    at: AwareDatetime | None = None


class PolicyIn(BaseModel):
    mode: Literal["cut", "limit"] = "cut"
    limit_w: int = Field(1000, ge=100, le=100_000)
    friendly_start: time | None = None
    friendly_end: time | None = None
    friendly_weekends: bool = False
    restore_threshold: int = Field(0, ge=0, le=10**9)
    recovery_percent: int = Field(25, ge=0, le=100)
    low_thresholds: list[Annotated[int, Field(ge=0, le=10**9)]] = Field(
        default_factory=lambda: [5000, 1000], max_length=5
    )
    command_ttl_s: int = Field(2 * 86400, ge=60, le=90 * 86400)


class HolidayIn(BaseModel):
    day: date
    name: str = Field(max_length=100)


class ReadingsIn(BaseModel):
    readings: list[dict[str, Any]] = Field(max_length=50_000)


class StatesIn(BaseModel):
    reports: list[dict[str, Any]] = Field(max_length=50_000)


class ReviewIn(BaseModel):
    action: Literal["accept", "correct", "reject"]
    value: DecimalText | None = None


@router.post("/meters", status_code=201)
def add_meter(
    body: MeterIn, db: Db, service: Service, principal: Annotated[Principal, Depends(SetupRoles)]
) -> dict[str, Any]:
    """Install a meter (a replacement names the removed meter it replaces)."""
    with db.write() as conn:
        meter_id = registry.add_meter(conn, **body.model_dump())
    return {"id": meter_id, "serial": body.serial}


@router.post("/meters/{serial}/removal")
def remove_meter(
    serial: str, body: RemovalIn, db: Db, principal: Annotated[Principal, Depends(SetupRoles)]
) -> dict[str, Any]:
    """Take a meter out at its final reading (which must already have been charged)."""
    with db.write() as conn:
        registry.remove_meter(
            conn, serial=serial, final_value=body.final_value, at=body.at or utcnow()
        )
    return {"serial": serial, "status": "removed"}


@router.get("/meters")
def list_meters(
    db: Db, principal: Annotated[Principal, Depends(ReadRoles)], unit: str | None = None
) -> list[dict[str, Any]]:
    """Meters with their supply state: desired, reported, last reading."""
    query = select(meters, units.c.code.label("unit_code")).select_from(
        meters.outerjoin(units, units.c.id == meters.c.unit_id)
    )
    if unit is not None:
        query = query.where(units.c.code == unit)
    with db.read() as conn:
        rows = conn.execute(query.order_by(meters.c.serial)).all()
    return [
        {
            "serial": r.serial,
            "unit": r.unit_code,
            "utility": r.utility,
            "power": r.power,
            "transport": r.transport,
            "status": r.status,
            "tariff": r.tariff_code,
            "desired_state": r.desired_state,
            "reported_state": r.reported_state,
            "last_value": r.last_value,
            "last_at": r.last_at.isoformat(),
            "carry": r.carry,
        }
        for r in rows
    ]


@router.post("/tariffs", status_code=201)
def add_tariff(
    body: dict[str, Any],
    db: Db,
    service: Service,
    principal: Annotated[Principal, Depends(ManagerRoles)],
) -> dict[str, Any]:
    """A tariff version (``domain.tariffs.Tariff`` as JSON); it applies from ``effective_from``."""
    try:
        tariff = Tariff.from_json(body)
    except TariffError as err:
        raise InvalidRequest(str(err), code="invalid_tariff") from err
    with db.write() as conn:
        registry.add_tariff(conn, tariff)
    service.invalidate()
    return tariff.to_json()


@router.put("/policies/{utility}")
def set_policy(
    utility: str,
    body: PolicyIn,
    db: Db,
    service: Service,
    principal: Annotated[Principal, Depends(ManagerRoles)],
) -> dict[str, Any]:
    """Cut or limit, friendly-credit hours, restore threshold, debt recovery, warnings."""
    data = body.model_dump()
    data["low_thresholds"] = tuple(data["low_thresholds"])
    with db.write() as conn:
        registry.set_policy(conn, registry.Policy(utility=utility, **data))
    service.invalidate()
    return {"utility": utility, **body.model_dump(mode="json")}


@router.post("/holidays", status_code=201)
def add_holiday(
    body: HolidayIn,
    db: Db,
    service: Service,
    principal: Annotated[Principal, Depends(ManagerRoles)],
) -> dict[str, Any]:
    with db.write() as conn:
        registry.add_holiday(conn, day=body.day, name=body.name)
    service.invalidate()
    return body.model_dump(mode="json")


@router.post("/readings")
def post_readings(
    body: ReadingsIn,
    service: Service,
    principal: Annotated[Principal, Depends(MeterRoles)],
    answer: Literal["full", "brief"] = "full",
) -> JSONResponse:
    """A batch of readings: each gets a verdict; the answer carries commands for these meters.

    Idempotent per meter and reading time, so a meter may resend a batch freely.
    ``answer=brief`` lists only the readings that were not charged (a gateway
    sending thousands needs the counts and the exceptions, not every receipt).
    """
    parsed: list[Reading] = []
    bad: list[dict[str, Any]] = []
    for i, item in enumerate(body.readings):
        try:
            parsed.append(Reading.from_json(item))
        except MessageError as err:
            bad.append({"index": i, "verdict": "rejected", "code": "malformed", "reason": str(err)})
    result, commands = service.ingest(parsed, actor=principal.actor)
    counts: dict[str, int] = {}
    for v in result.verdicts:
        counts[v.verdict] = counts.get(v.verdict, 0) + 1
    if bad:
        counts["rejected"] = counts.get("rejected", 0) + len(bad)
    service.wake()
    # A JSONResponse straight away: FastAPI's generic encoder costs more than the
    # charging itself for a batch of 10,000 verdicts.
    return JSONResponse(
        {
            "counts": counts,
            "results": [
                v.to_json() for v in result.verdicts if answer == "full" or v.verdict != "charged"
            ],
            "malformed": bad,
            "commands": [c.to_json() for c in commands],
            "server_time": utcnow().isoformat(),
        }
    )


@router.post("/state")
def post_state(
    body: StatesIn, service: Service, principal: Annotated[Principal, Depends(MeterRoles)]
) -> dict[str, Any]:
    """Relay/valve state reports, each perhaps acknowledging a command."""
    try:
        reports = [StateReport.from_json(r) for r in body.reports]
    except MessageError as err:
        raise InvalidRequest(str(err), code="malformed") from err
    verdicts, commands = service.report(reports)
    return {"results": verdicts, "commands": [c.to_json() for c in commands]}


@router.get("/readings/held")
def held_readings(
    db: Db, principal: Annotated[Principal, Depends(ReadRoles)]
) -> list[dict[str, Any]]:
    """Readings waiting for a manager: negative steps and implausible jumps."""
    with db.read() as conn:
        rows = conn.execute(
            select(
                readings.c.id,
                meters.c.serial,
                readings.c.taken_at,
                readings.c.value,
                readings.c.reason,
            )
            .join(meters, meters.c.id == readings.c.meter_id)
            .where(readings.c.status == "held")
            .order_by(readings.c.taken_at)
        ).all()
    return [
        {
            "id": r.id,
            "meter": r.serial,
            "taken_at": r.taken_at.isoformat(),
            "value": r.value,
            "reason": r.reason,
        }
        for r in rows
    ]


@router.post("/readings/{reading_id}/review")
def review(
    reading_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: ReviewIn,
    db: Db,
    service: Service,
    principal: Annotated[Principal, Depends(ManagerRoles)],
) -> dict[str, Any]:
    value = None if body.value is None else Decimal(body.value)
    env = service.environment()
    with db.write() as conn:
        verdict = ingest.review_held(
            conn,
            env,
            reading_id=reading_id,
            action=body.action,
            value=value,
            now=utcnow(),
            actor=principal.actor,
        )
    service.wake()
    return verdict.to_json()


@router.get("/supply/pending")
def pending(db: Db, principal: Annotated[Principal, Depends(ReadRoles)]) -> list[dict[str, object]]:
    """Cut-offs, limits and restores not yet done, with when each is expected to happen."""
    with db.read() as conn:
        return supply.pending_summary(conn, utcnow())


@router.get("/supply/events")
def events(
    db: Db,
    principal: Annotated[Principal, Depends(ReadRoles)],
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[dict[str, Any]]:
    """Every cut, limit, restore, deferral, expiry and mismatch with its reason, newest first."""
    with db.read() as conn:
        rows = conn.execute(
            select(supply_events, meters.c.serial)
            .join(meters, meters.c.id == supply_events.c.meter_id)
            .order_by(supply_events.c.id.desc())
            .limit(min(limit, 5000))
        ).all()
    return [
        {
            "meter": r.serial,
            "at": r.at.isoformat(),
            "event": r.event,
            "reason": r.reason,
            "command_id": r.command_id,
            "alert": bool(r.alert),
        }
        for r in rows
    ]


@router.get("/usage")
def usage(
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(ReadRoles)],
    unit: str,
    by: Literal["day", "month"] = "day",
) -> list[dict[str, Any]]:
    """Usage and charges per utility and day (or month) for a unit, in the estate's time zone."""
    with db.read() as conn:
        rows = conn.execute(
            select(meters.c.utility, readings.c.taken_at, readings.c.usage, readings.c.amount)
            .join(meters, meters.c.id == readings.c.meter_id)
            .join(units, units.c.id == meters.c.unit_id)
            .where(units.c.code == unit, readings.c.status == "charged")
        ).all()
    totals: dict[tuple[str, str], list[Any]] = {}
    for r in rows:
        local = r.taken_at.astimezone(estate.zone).date()
        key = local.isoformat() if by == "day" else local.isoformat()[:7]
        entry = totals.setdefault((r.utility, key), [Decimal(0), 0])
        entry[0] += Decimal(r.usage or "0")
        entry[1] += r.amount
    return [
        {"utility": u, by: k, "usage": str(v[0]), "charged": v[1]}
        for (u, k), v in sorted(totals.items())
    ]


@router.get("/shared/{serial}")
def shared_area(
    serial: str, db: Db, principal: Annotated[Principal, Depends(ReadRoles)]
) -> list[dict[str, Any]]:
    """A common-area meter's charges as shared out to each flat by floor area."""
    from central.db.schema import accounts, postings, transactions

    with db.read() as conn:
        rows = conn.execute(
            select(accounts.c.code, postings.c.amount)
            .join(postings, postings.c.account_id == accounts.c.id)
            .join(transactions, transactions.c.id == postings.c.transaction_id)
            .where(
                transactions.c.kind == "usage",
                transactions.c.idempotency_key.like(f"reading:{serial}:%"),
                accounts.c.kind.in_(("wallet", "debt")),
            )
        ).all()
    totals: dict[str, int] = {}
    for code, amount in rows:
        unit = code.split(":")[1]
        totals[unit] = totals.get(unit, 0) - amount
    return [{"unit": unit, "charged": total} for unit, total in sorted(totals.items())]


@router.get("/days-left")
def days_left(
    db: Db, principal: Annotated[Principal, Depends(ReadRoles)], unit: str
) -> list[dict[str, Any]]:
    """Each utility wallet of a unit: balance, average daily usage charged over the last
    week, and the days that leaves (null when nothing was used)."""
    from central.db.schema import accounts
    from central.metering.notify import daily_usage
    from domain.wallets import UTILITIES, Purpose, wallet_code

    out = []
    with db.read() as conn:
        for utility in UTILITIES:
            row = conn.execute(
                select(accounts.c.id, accounts.c.balance, accounts.c.held).where(
                    accounts.c.code == wallet_code(unit, Purpose(utility))
                )
            ).first()
            if row is None:
                continue
            per_day = daily_usage(conn, row.id, utcnow())
            available = row.balance - row.held
            out.append(
                {
                    "utility": utility.value,
                    "available": available,
                    "daily_usage": per_day,
                    "days_left": None if per_day <= 0 else max(0, available) // per_day,
                }
            )
    return out


@router.get("/meters/{serial}/commands")
def poll_commands(
    serial: str, service: Service, principal: Annotated[Principal, Depends(MeterRoles)]
) -> list[dict[str, Any]]:
    """For a meter on HTTP between its reports: the commands waiting for it (marked sent;
    acknowledge each with ``POST /v1/metering/state``)."""
    with service.db.write() as conn:
        commands = supply.commands_to_send(conn, now=utcnow(), transport="http", awake=[serial])
    return [c.to_json() for c in commands]
