"""Creating and reading the estate's sites, buildings, units, residents and credentials."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from central.db.schema import buildings, credentials, residents, sites, units
from central.db.types import utcnow
from central.errors import Conflict, InvalidRequest, NotFound
from central.estate import settings
from central.ledger.accounts import open_wallets

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
CREDENTIAL_KINDS = ("card", "plate", "qr")
CREDENTIAL_STATUSES = ("active", "lost", "revoked")
UNIT_KINDS = ("flat", "shop", "parking")


def _code(value: str, what: str) -> str:
    if not CODE.match(value):
        raise InvalidRequest(
            f"{what} code {value!r} must be 1-32 letters, digits, '-' or '_'", code="invalid_code"
        )
    return value


def _insert(conn: Connection, stmt: Any, what: str) -> int:
    try:
        with conn.begin_nested():
            result = conn.execute(stmt)
    except IntegrityError as err:
        raise Conflict(f"{what} already exists", code="already_exists") from err
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def add_site(conn: Connection, *, code: str, name: str, address: str = "") -> int:
    return _insert(
        conn,
        insert(sites).values(code=_code(code, "site"), name=name, address=address),
        f"site {code}",
    )


def _id_of(conn: Connection, table: Any, code: str, what: str) -> int:
    row = conn.execute(select(table.c.id).where(table.c.code == code)).first()
    if row is None:
        raise NotFound(f"there is no {what} {code!r}", code=f"unknown_{what}")
    return int(row[0])


def add_building(conn: Connection, *, site: str, code: str, name: str, floors: int) -> int:
    if not 1 <= floors <= 200:
        raise InvalidRequest("a building has between 1 and 200 floors", code="invalid_building")
    site_id = _id_of(conn, sites, site, "site")
    return _insert(
        conn,
        insert(buildings).values(
            site_id=site_id, code=_code(code, "building"), name=name, floors=floors
        ),
        f"building {code}",
    )


def unit_code(building: str, number: str) -> str:
    return f"{building}-{number}"


def add_unit(
    conn: Connection,
    *,
    building: str,
    number: str,
    floor: int,
    area_m2: Decimal,
    kind: str = "flat",
) -> str:
    """Add a unit and open its wallets; returns the unit's code (``A-1203``)."""
    if kind not in UNIT_KINDS:
        raise InvalidRequest(f"unit kind must be one of {UNIT_KINDS}", code="invalid_unit")
    if not Decimal(0) < area_m2 < Decimal(100000):
        raise InvalidRequest("floor area must be positive, in m2", code="invalid_unit")
    row = conn.execute(
        select(buildings.c.id, buildings.c.floors).where(buildings.c.code == building)
    ).first()
    if row is None:
        raise NotFound(f"there is no building {building!r}", code="unknown_building")
    if not -5 <= floor <= row.floors:
        raise InvalidRequest(
            f"floor {floor} is outside building {building} (floors -5 to {row.floors})",
            code="invalid_unit",
        )
    code = _code(unit_code(building, _code(number, "unit")), "unit")
    estate = settings.load(conn)
    unit_id = _insert(
        conn,
        insert(units).values(
            building_id=row.id,
            code=code,
            number=number,
            floor=floor,
            area_m2=area_m2,
            kind=kind,
            created_at=utcnow(),
        ),
        f"unit {code}",
    )
    open_wallets(
        conn,
        unit_id=unit_id,
        unit_code=code,
        currency=estate.currency,
        emergency_credit=estate.emergency_credit,
    )
    return code


def unit_id(conn: Connection, code: str) -> int:
    return _id_of(conn, units, code, "unit")


def normalise_phone(phone: str) -> str:
    """``+86 139-0000-0000`` and ``+8613900000000`` are the same phone."""
    cleaned = re.sub(r"[\s\-().]", "", phone)
    if not re.fullmatch(r"\+?\d{6,16}", cleaned):
        raise InvalidRequest("that is not a phone number", code="invalid_phone")
    return cleaned


def add_resident(
    conn: Connection,
    *,
    unit: str,
    name: str,
    phone: str | None = None,
    email: str | None = None,
    language: str = "en",
    role: str = "owner",
    moved_in_at: datetime | None = None,
) -> int:
    return _insert(
        conn,
        insert(residents).values(
            unit_id=unit_id(conn, unit),
            name=name,
            phone=None if phone is None else normalise_phone(phone),
            email=email,
            language=language,
            role=role,
            moved_in_at=moved_in_at or utcnow(),
        ),
        "resident",
    )


def normalise_credential(kind: str, value: str) -> str:
    """Plates and card numbers compare without spaces, dashes or case."""
    if kind not in CREDENTIAL_KINDS:
        raise InvalidRequest(
            f"credential kind must be one of {CREDENTIAL_KINDS}", code="invalid_credential"
        )
    cleaned = re.sub(r"[\s\-·.]", "", value).upper()
    if not 2 <= len(cleaned) <= 64:
        raise InvalidRequest("a credential value has 2 to 64 characters", code="invalid_credential")
    return cleaned


def add_credential(
    conn: Connection, *, unit: str, kind: str, value: str, resident_id: int | None = None
) -> int:
    cleaned = normalise_credential(kind, value)
    return _insert(
        conn,
        insert(credentials).values(
            unit_id=unit_id(conn, unit),
            resident_id=resident_id,
            kind=kind,
            value=cleaned,
            status="active",
            created_at=utcnow(),
        ),
        f"{kind} credential {cleaned}",
    )


def credential_status(conn: Connection, credential_id: int) -> str | None:
    row = conn.execute(
        select(credentials.c.status).where(credentials.c.id == credential_id)
    ).first()
    return None if row is None else str(row.status)


def set_credential_status(conn: Connection, credential_id: int, status: str) -> None:
    if status not in CREDENTIAL_STATUSES:
        raise InvalidRequest(
            f"credential status must be one of {CREDENTIAL_STATUSES}", code="invalid_credential"
        )
    result = conn.execute(
        update(credentials)
        .where(credentials.c.id == credential_id)
        .values(status=status, status_changed_at=utcnow())
    )
    if result.rowcount == 0:
        raise NotFound(f"there is no credential {credential_id}", code="unknown_credential")


@dataclass(frozen=True, slots=True)
class UnitView:
    code: str
    building: str
    number: str
    floor: int
    area_m2: Decimal
    kind: str


def _unit_query() -> Any:
    return select(
        units.c.code,
        buildings.c.code,
        units.c.number,
        units.c.floor,
        units.c.area_m2,
        units.c.kind,
    ).join(buildings, buildings.c.id == units.c.building_id)


def list_units(conn: Connection) -> list[UnitView]:
    return [UnitView(*row) for row in conn.execute(_unit_query().order_by(units.c.code)).all()]


def get_unit(conn: Connection, code: str) -> UnitView:
    row = conn.execute(_unit_query().where(units.c.code == code)).first()
    if row is None:
        raise NotFound(f"there is no unit {code!r}", code="unknown_unit")
    return UnitView(*row)


def find_credential(conn: Connection, kind: str, value: str) -> dict[str, Any] | None:
    row = conn.execute(
        select(credentials.c.id, credentials.c.status, units.c.code.label("unit"))
        .join(units, units.c.id == credentials.c.unit_id)
        .where(credentials.c.kind == kind, credentials.c.value == normalise_credential(kind, value))
    ).first()
    return dict(row._mapping) if row else None
