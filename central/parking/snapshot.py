"""What a gate needs to decide offline: the parking snapshot it pulls."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from central.db.schema import accounts, credentials, units
from central.errors import Refused
from central.journal.snapshot import hash_key
from central.parking.passes import list_passes
from central.parking.payments import WALLET
from central.parking.rules import describe_rules
from central.parking.tables import parking_sessions
from central.parking.tariffs import current_tariff
from domain import journal as dj
from domain import parking as dp
from domain.parking import TariffKind


def snapshot(conn: Connection, *, terminal_id: str, estate: Any, now: datetime) -> dict[str, Any]:
    """What a gate needs to decide offline, in ``gate.barrier.book``'s layout.

    Plates travel as keyed hashes under the terminal's snapshot key (the one the
    journal's snapshot uses), never in clear; the tariffs in force now with their
    versions; the manager's rules; the active passes; the parking wallets.
    """
    key = hash_key(conn, terminal_id)
    plates = {
        dj.credential_hash(key, "plate", row.value): {"unit": row.unit}
        for row in conn.execute(
            select(credentials.c.value, units.c.code.label("unit"))
            .join(units, units.c.id == credentials.c.unit_id)
            .where(credentials.c.kind == "plate", credentials.c.status == "active")
        )
    }
    wallets = {
        row.unit: int(row.balance) - int(row.held) - int(row.floor or 0)
        for row in conn.execute(
            select(
                units.c.code.label("unit"), accounts.c.balance, accounts.c.held, accounts.c.floor
            )
            .join(units, units.c.id == accounts.c.unit_id)
            .where(accounts.c.kind == "wallet", accounts.c.purpose == WALLET)
        )
    }
    passes = [
        {
            "id": p["pass_id"],
            "unit": p["unit"],
            "plate_hash": None
            if p["plate"] is None
            else dj.credential_hash(key, "plate", p["plate"]),
            "valid_from": p["valid_from"],
            "valid_until": p["valid_until"],
        }
        for p in list_passes(conn)
        if p["status"] == "active"
    ]
    tariffs = {}
    for kind in TariffKind:
        try:
            tariffs[kind.value] = dp.tariff_to_spec(current_tariff(conn, kind, now))
        except Refused:
            continue
    paid = {
        dj.credential_hash(key, "plate", row.plate): row.paid_at.isoformat()
        for row in conn.execute(
            select(parking_sessions.c.plate, parking_sessions.c.paid_at).where(
                parking_sessions.c.status == "inside", parking_sessions.c.paid_at.is_not(None)
            )
        )
    }
    return {
        "terminal_id": terminal_id,
        "hash_key": key,
        "paid": paid,
        "timezone": estate.timezone,
        "currency": estate.currency,
        "plates": plates,
        "wallets": wallets,
        "passes": passes,
        "tariffs": tariffs,
        "rules": describe_rules(conn)["rules"],
    }
