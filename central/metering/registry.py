"""The meter registry, tariff versions, supply policies and the holiday calendar."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, insert, select, update

from central.db.schema import units
from central.db.types import utcnow
from central.errors import Conflict, InvalidRequest, NotFound
from central.metering.tables import holidays, meters, supply_policies, tariffs
from domain.tariffs import Tariff, TariffError
from domain.wallets import UTILITIES

REGISTER_UNITS = {"electricity": "kWh", "water": "m3", "gas": "m3"}
# What a household could plausibly use in an hour; more is held for review.
DEFAULT_MAX_PER_HOUR = {"electricity": Decimal(30), "water": Decimal(3), "gas": Decimal(6)}


@dataclass(frozen=True, slots=True)
class Policy:
    utility: str
    mode: str = "cut"  # cut | limit (electricity only)
    limit_w: int = 1000
    friendly_start: time | None = None
    friendly_end: time | None = None
    friendly_weekends: bool = False
    restore_threshold: int = 0
    recovery_percent: int = 25
    low_thresholds: tuple[int, ...] = (5000, 1000)
    command_ttl_s: int = 2 * 86400


def _utility(value: str) -> str:
    if value not in {u.value for u in UTILITIES}:
        raise InvalidRequest(
            f"a meter measures electricity, water or gas, not {value!r}", code="invalid_utility"
        )
    return value


def _dec(value: Any, name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidRequest(f"{name} is not a number", code="invalid_number") from None
    if not number.is_finite() or number < 0:
        raise InvalidRequest(f"{name} must be a non-negative number", code="invalid_number")
    return number


def add_meter(
    conn: Connection,
    *,
    serial: str,
    unit: str | None,
    utility: str,
    tariff: str,
    power: str = "mains",
    transport: str = "http",
    digits: int = 8,
    multiplier: Decimal | str = "1",
    has_rate_registers: bool = False,
    supply_kind: str | None = None,
    wake_interval_s: int = 0,
    max_per_hour: Decimal | str | None = None,
    start_value: Decimal | str = "0",
    installed_at: datetime | None = None,
    replaces: str | None = None,
) -> int:
    """Register a meter. ``unit=None`` is a common-area meter."""
    _utility(utility)
    if power not in ("mains", "battery") or transport not in ("http", "mqtt"):
        raise InvalidRequest("power is mains|battery, transport http|mqtt", code="invalid_meter")
    if not 3 <= digits <= 12:
        raise InvalidRequest("a register has 3 to 12 digits", code="invalid_meter")
    if power == "battery" and wake_interval_s <= 0:
        wake_interval_s = 3600
    kind = supply_kind or ("valve" if utility != "electricity" else "relay")
    unit_id = None
    if unit is not None:
        row = conn.execute(select(units.c.id).where(units.c.code == unit)).first()
        if row is None:
            raise NotFound(f"there is no unit {unit!r}", code="unknown_unit")
        unit_id = row.id
    if conn.execute(select(meters.c.id).where(meters.c.serial == serial)).first():
        raise Conflict(f"meter {serial} is already registered", code="meter_exists")
    replaces_id = None
    if replaces is not None:
        old = conn.execute(
            select(meters.c.id, meters.c.status).where(meters.c.serial == replaces)
        ).first()
        if old is None:
            raise NotFound(f"there is no meter {replaces!r}", code="unknown_meter")
        if old.status != "removed":
            raise InvalidRequest(
                f"remove meter {replaces} (with its final reading) first", code="meter_active"
            )
        replaces_id = old.id
    when = installed_at or utcnow()
    start = _dec(start_value, "start_value")
    result = conn.execute(
        insert(meters).values(
            serial=serial,
            unit_id=unit_id,
            utility=utility,
            register_unit=REGISTER_UNITS[utility],
            digits=digits,
            multiplier=str(_dec(multiplier, "multiplier")),
            power=power,
            transport=transport,
            has_rate_registers=has_rate_registers,
            supply_kind=kind,
            tariff_code=tariff,
            wake_interval_s=wake_interval_s,
            max_per_hour=str(
                DEFAULT_MAX_PER_HOUR[utility]
                if max_per_hour is None
                else _dec(max_per_hour, "max_per_hour")
            ),
            status="active",
            installed_at=when,
            start_value=str(start),
            replaces_id=replaces_id,
            last_value=str(start),
            last_at=when,
        )
    )
    meter_id: int = result.inserted_primary_key[0]  # type: ignore[index]
    return meter_id


def remove_meter(
    conn: Connection, *, serial: str, final_value: Decimal | str, at: datetime
) -> None:
    """Take a meter out; its final reading must have been charged (send it as a reading first)."""
    row = conn.execute(
        select(meters.c.id, meters.c.status, meters.c.last_value).where(meters.c.serial == serial)
    ).first()
    if row is None:
        raise NotFound(f"there is no meter {serial!r}", code="unknown_meter")
    if row.status != "active":
        raise InvalidRequest(f"meter {serial} is already removed", code="meter_removed")
    final = _dec(final_value, "final_value")
    if final != Decimal(row.last_value):
        raise InvalidRequest(
            f"the final reading {final} is not the last charged one ({row.last_value}): "
            "send it as a reading first",
            code="final_not_charged",
        )
    conn.execute(
        update(meters)
        .where(meters.c.id == row.id)
        .values(status="removed", removed_at=at, final_value=str(final))
    )


def add_tariff(conn: Connection, tariff: Tariff) -> None:
    """A new version of a tariff (same code, a later ``effective_from``)."""
    _utility(tariff.utility)
    exists = conn.execute(
        select(tariffs.c.id).where(
            tariffs.c.code == tariff.code, tariffs.c.effective_from == tariff.effective_from
        )
    ).first()
    if exists:
        raise Conflict(
            f"tariff {tariff.code} already has a version from {tariff.effective_from}",
            code="tariff_exists",
        )
    conn.execute(
        insert(tariffs).values(
            code=tariff.code,
            utility=tariff.utility,
            effective_from=tariff.effective_from,
            definition=tariff.dumps(),
            created_at=utcnow(),
        )
    )


def load_tariffs(conn: Connection) -> dict[str, list[Tariff]]:
    found: dict[str, list[Tariff]] = {}
    for row in conn.execute(select(tariffs.c.definition).order_by(tariffs.c.effective_from)):
        try:
            tariff = Tariff.from_json(json.loads(row.definition))
        except (TariffError, ValueError) as err:  # pragma: no cover - stored ones were checked
            raise InvalidRequest(f"a stored tariff is broken: {err}") from err
        found.setdefault(tariff.code, []).append(tariff)
    return found


def set_policy(conn: Connection, policy: Policy) -> None:
    _utility(policy.utility)
    if policy.mode not in ("cut", "limit") or (
        policy.mode == "limit" and policy.utility != "electricity"
    ):
        raise InvalidRequest("only electricity can be limited instead of cut", code="invalid_mode")
    if not 0 <= policy.recovery_percent <= 100:
        raise InvalidRequest("recovery is 0 to 100 percent of a top-up", code="invalid_policy")
    values = {
        "mode": policy.mode,
        "limit_w": policy.limit_w,
        "friendly_start": None
        if policy.friendly_start is None
        else policy.friendly_start.isoformat("minutes"),
        "friendly_end": None
        if policy.friendly_end is None
        else policy.friendly_end.isoformat("minutes"),
        "friendly_weekends": policy.friendly_weekends,
        "restore_threshold": policy.restore_threshold,
        "recovery_percent": policy.recovery_percent,
        "low_thresholds": ",".join(str(t) for t in policy.low_thresholds),
        "command_ttl_s": policy.command_ttl_s,
    }
    done = conn.execute(
        update(supply_policies).where(supply_policies.c.utility == policy.utility).values(**values)
    )
    if done.rowcount == 0:
        conn.execute(insert(supply_policies).values(utility=policy.utility, **values))


def load_policies(conn: Connection) -> dict[str, Policy]:
    found = {u.value: Policy(u.value) for u in UTILITIES}
    for r in conn.execute(select(supply_policies)):
        found[r.utility] = Policy(
            utility=r.utility,
            mode=r.mode,
            limit_w=r.limit_w,
            friendly_start=None
            if r.friendly_start is None
            else time.fromisoformat(r.friendly_start),
            friendly_end=None if r.friendly_end is None else time.fromisoformat(r.friendly_end),
            friendly_weekends=bool(r.friendly_weekends),
            restore_threshold=r.restore_threshold,
            recovery_percent=r.recovery_percent,
            low_thresholds=tuple(int(x) for x in r.low_thresholds.split(",") if x.strip()),
            command_ttl_s=r.command_ttl_s,
        )
    return found


def add_holiday(conn: Connection, *, day: date, name: str) -> None:
    if conn.execute(select(holidays.c.day).where(holidays.c.day == day.isoformat())).first():
        return
    conn.execute(insert(holidays).values(day=day.isoformat(), name=name))


def load_holidays(conn: Connection) -> frozenset[date]:
    return frozenset(date.fromisoformat(r.day) for r in conn.execute(select(holidays.c.day)))
