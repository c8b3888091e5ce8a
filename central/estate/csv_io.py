"""The registry to and from CSV: units, residents, credentials, vehicles.

An import checks every row and reports each bad one with its line number and
reason; a file with any bad row imports nothing (one transaction, rolled back).
An export writes the same columns an import reads, so the two round-trip.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, select

from central.db.schema import buildings, credentials, residents, units
from central.errors import CentralError, InvalidRequest
from central.estate import registry

COLUMNS: dict[str, tuple[str, ...]] = {
    "units": ("building", "number", "floor", "area_m2", "kind"),
    "residents": ("unit", "name", "phone", "email", "language", "role"),
    "credentials": ("unit", "kind", "value", "status"),
    "vehicles": ("unit", "plate"),
}
MAX_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class BadRow:
    line: int
    reason: str


class ImportRefused(InvalidRequest):
    """The file has bad rows; nothing was imported."""

    code = "import_refused"

    def __init__(self, problems: list[BadRow]) -> None:
        shown = "; ".join(f"line {p.line}: {p.reason}" for p in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} bad row(s), nothing imported: {shown}{more}")
        self.problems = problems


def _int(value: str, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidRequest(f"{what} {value!r} is not a whole number") from None


def _decimal(value: str, what: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise InvalidRequest(f"{what} {value!r} is not a number") from None


def _unit_row(conn: Connection, row: dict[str, str]) -> None:
    registry.add_unit(
        conn,
        building=row["building"],
        number=row["number"],
        floor=_int(row["floor"], "floor"),
        area_m2=_decimal(row["area_m2"], "area_m2"),
        kind=row.get("kind") or "flat",
    )


def _resident_row(conn: Connection, row: dict[str, str]) -> None:
    if not row["name"].strip():
        raise InvalidRequest("a resident needs a name")
    registry.add_resident(
        conn,
        unit=row["unit"],
        name=row["name"].strip(),
        phone=row.get("phone") or None,
        email=row.get("email") or None,
        language=row.get("language") or "en",
        role=row.get("role") or "owner",
    )


def _credential_row(conn: Connection, row: dict[str, str]) -> None:
    credential_id = registry.add_credential(
        conn, unit=row["unit"], kind=row["kind"], value=row["value"]
    )
    status = row.get("status") or "active"
    if status != "active":
        registry.set_credential_status(conn, credential_id, status)


def _vehicle_row(conn: Connection, row: dict[str, str]) -> None:
    registry.add_credential(conn, unit=row["unit"], kind="plate", value=row["plate"])


IMPORTERS: dict[str, Callable[[Connection, dict[str, str]], None]] = {
    "units": _unit_row,
    "residents": _resident_row,
    "credentials": _credential_row,
    "vehicles": _vehicle_row,
}


def _kind(kind: str) -> tuple[str, ...]:
    if kind not in COLUMNS:
        raise InvalidRequest(
            f"registry files are {', '.join(COLUMNS)}, not {kind!r}", code="unknown_registry_kind"
        )
    return COLUMNS[kind]


def import_csv(conn: Connection, kind: str, text: str) -> int:
    """Import every row or none; returns the number of rows imported."""
    columns = _kind(kind)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))  # Excel writes a BOM
    header = reader.fieldnames or []
    missing = [c for c in columns if c not in header]
    required_missing = [
        c for c in missing if c not in ("kind", "status", "phone", "email", "language", "role")
    ]
    if required_missing:
        raise ImportRefused([BadRow(1, f"missing column(s): {', '.join(required_missing)}")])
    problems: list[BadRow] = []
    imported = 0
    for row in reader:
        line = reader.line_num
        if imported + len(problems) >= MAX_ROWS:
            problems.append(BadRow(line, f"a file holds at most {MAX_ROWS} rows"))
            break
        cleaned = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if None in row:
            problems.append(BadRow(line, "more fields than the header has"))
            continue
        try:
            with conn.begin_nested():
                IMPORTERS[kind](conn, cleaned)
            imported += 1
        except CentralError as err:
            problems.append(BadRow(line, err.message))
        except KeyError as err:
            problems.append(BadRow(line, f"missing value for {err.args[0]}"))
    if problems:
        raise ImportRefused(problems)
    return imported


def export_csv(conn: Connection, kind: str) -> str:
    columns = _kind(kind)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in _rows(conn, kind):
        writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
    return out.getvalue()


def _rows(conn: Connection, kind: str) -> list[dict[str, Any]]:
    if kind == "units":
        query = (
            select(
                buildings.c.code.label("building"),
                units.c.number,
                units.c.floor,
                units.c.area_m2,
                units.c.kind,
            )
            .join(buildings, buildings.c.id == units.c.building_id)
            .order_by(units.c.id)
        )
    elif kind == "residents":
        query = (
            select(
                units.c.code.label("unit"),
                residents.c.name,
                residents.c.phone,
                residents.c.email,
                residents.c.language,
                residents.c.role,
            )
            .join(units, units.c.id == residents.c.unit_id)
            .where(residents.c.moved_out_at.is_(None))
            .order_by(residents.c.id)
        )
    else:
        query = (
            select(
                units.c.code.label("unit"),
                credentials.c.kind,
                credentials.c.value,
                credentials.c.value.label("plate"),
                credentials.c.status,
            )
            .join(units, units.c.id == credentials.c.unit_id)
            .order_by(credentials.c.id)
        )
        if kind == "vehicles":
            query = query.where(credentials.c.kind == "plate", credentials.c.status == "active")
        else:
            query = query.where(credentials.c.kind != "plate")
    return [dict(r._mapping) for r in conn.execute(query)]
