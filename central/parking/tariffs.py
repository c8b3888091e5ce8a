"""Parking tariffs: versions stored once and never changed, and the one in force at a time."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from central.errors import InvalidRequest, NotFound, Refused
from central.parking.tables import parking_tariffs
from domain import parking as dp
from domain.parking import ParkingTariff, TariffError, TariffKind


def add_tariff(
    conn: Connection,
    *,
    kind: str,
    spec: dict[str, Any],
    effective_from: datetime,
    now: datetime,
    currency: str,
) -> dict[str, Any]:
    """Store a new tariff version; versions are never changed, only superseded."""
    try:
        TariffKind(kind)
        tariff = dp.tariff_from_spec({**spec, "currency": currency})
    except (TariffError, ValueError) as err:
        raise InvalidRequest(str(err), code="invalid_tariff") from err
    if effective_from.tzinfo is None:
        raise InvalidRequest("effective_from needs a time zone", code="invalid_tariff")
    if conn.execute(
        select(parking_tariffs.c.id).where(parking_tariffs.c.version == tariff.version)
    ).first():
        raise Refused(f"tariff version {tariff.version!r} exists already", code="tariff_exists")
    conn.execute(
        insert(parking_tariffs).values(
            version=tariff.version,
            kind=kind,
            spec=json.dumps(dp.tariff_to_spec(tariff)),
            effective_from=effective_from,
            created_at=now,
        )
    )
    return {"kind": kind, "effective_from": effective_from.isoformat(), **dp.tariff_to_spec(tariff)}


def list_tariffs(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(parking_tariffs).order_by(parking_tariffs.c.kind, parking_tariffs.c.effective_from)
    ).all()
    return [
        {"kind": r.kind, "effective_from": r.effective_from.isoformat(), **json.loads(r.spec)}
        for r in rows
    ]


def tariff_by_version(conn: Connection, version: str) -> tuple[TariffKind, ParkingTariff]:
    row = conn.execute(
        select(parking_tariffs.c.kind, parking_tariffs.c.spec).where(
            parking_tariffs.c.version == version
        )
    ).first()
    if row is None:
        raise NotFound(f"there is no parking tariff {version!r}", code="unknown_tariff")
    return TariffKind(row.kind), dp.tariff_from_spec(json.loads(row.spec))


def current_tariff(conn: Connection, kind: TariffKind, at: datetime) -> ParkingTariff:
    """The tariff of ``kind`` in force at ``at``: the latest to take effect by then."""
    row = conn.execute(
        select(parking_tariffs.c.spec)
        .where(parking_tariffs.c.kind == kind.value, parking_tariffs.c.effective_from <= at)
        .order_by(parking_tariffs.c.effective_from.desc(), parking_tariffs.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        raise Refused(f"no {kind.value} parking tariff is in force", code="no_tariff")
    return dp.tariff_from_spec(json.loads(row.spec))
