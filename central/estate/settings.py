"""The estate's own settings, set once at ``prepaid central init``."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, insert, select

from central.db.schema import estate
from central.db.types import utcnow
from central.errors import InvalidRequest
from domain.money import MoneyError, exponent


@dataclass(frozen=True, slots=True)
class Estate:
    name: str
    legal_name: str
    tax_number: str
    phone: str
    currency: str
    timezone: str
    locale: str
    emergency_credit: int

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class EstateNotInitialised(InvalidRequest):
    code = "estate_not_initialised"


def load(conn: Connection) -> Estate:
    row = conn.execute(
        select(
            estate.c.name,
            estate.c.legal_name,
            estate.c.tax_number,
            estate.c.phone,
            estate.c.currency,
            estate.c.timezone,
            estate.c.locale,
            estate.c.emergency_credit,
        )
    ).first()
    if row is None:
        raise EstateNotInitialised("the estate is not set up yet: run `prepaid central init`")
    return Estate(*row)


def create(conn: Connection, value: Estate) -> Estate:
    """Set the estate up; its currency, time zone and locale are set once, here."""
    try:
        exponent(value.currency)
        ZoneInfo(value.timezone)
    except (MoneyError, ZoneInfoNotFoundError, ValueError) as err:
        raise InvalidRequest(f"cannot set the estate up: {err}", code="invalid_estate") from err
    if value.emergency_credit < 0:
        raise InvalidRequest("the emergency credit cannot be negative", code="invalid_estate")
    if conn.execute(select(estate.c.id)).first() is not None:
        raise InvalidRequest(
            "the estate is already set up; its currency, time zone and locale are fixed",
            code="estate_exists",
        )
    conn.execute(
        insert(estate).values(
            id=1,
            name=value.name,
            legal_name=value.legal_name,
            tax_number=value.tax_number,
            phone=value.phone,
            currency=value.currency,
            timezone=value.timezone,
            locale=value.locale,
            emergency_credit=value.emergency_credit,
            created_at=utcnow(),
        )
    )
    return value
