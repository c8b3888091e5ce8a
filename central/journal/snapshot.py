"""What a terminal needs to decide alone, incrementally by version.

The version is the server's clock in milliseconds when the snapshot was built;
asking with ``since`` returns what changed after it (with an overlap, see
``domain.journal.SNAPSHOT_OVERLAP_MS``). Everything in it is absolute (a
balance, a credential's status), so applying a change twice is harmless.

No names, phones or e-mails: credentials are keyed hashes (a per-terminal key)
mapped to unit codes; balances are of the wallets this kind of terminal serves.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select

from central.db.schema import accounts, credentials, postings, transactions, units
from central.db.types import utcnow
from central.errors import NotFound
from central.estate.settings import Estate
from central.facilities.tables import facilities
from central.facilities.tables import passes as facility_passes
from central.journal import service
from central.journal.tables import journal_snapshot_keys
from central.parking.tables import parking_passes, parking_tariffs
from central.terminals import config as terminal_config
from central.terminals import staff_cards
from central.terminals.tables import terminals
from domain import journal as dj

FORMAT = 1


def hash_key(conn: Connection, terminal_id: str) -> str:
    row = conn.execute(
        select(journal_snapshot_keys.c.hash_key).where(
            journal_snapshot_keys.c.terminal_id == terminal_id
        )
    ).scalar_one_or_none()
    if row is not None:
        return str(row)
    key = secrets.token_hex(32)
    conn.execute(
        insert(journal_snapshot_keys).values(
            terminal_id=terminal_id, hash_key=key, created_at=utcnow()
        )
    )
    return key


def build(conn: Connection, *, terminal_id: str, since: int, estate: Estate) -> dict[str, Any]:
    """The snapshot for ``terminal_id``: complete when ``since`` is 0, else the changes."""
    version = int(time.time() * 1000)
    terminal = conn.execute(
        select(terminals.c.terminal_type).where(terminals.c.id == terminal_id)
    ).first()
    if terminal is None:
        raise NotFound(f"there is no terminal {terminal_id!r}", code="unknown_terminal")
    key = hash_key(conn, terminal_id)
    full = since <= 0
    cutoff = datetime.fromtimestamp(max(0, since - dj.SNAPSHOT_OVERLAP_MS) / 1000, UTC)
    purposes = dj.SERVED_PURPOSES.get(terminal.terminal_type, ())

    balances: dict[str, dict[str, int]] = {}
    if purposes:
        query = (
            select(
                units.c.code.label("unit"),
                accounts.c.purpose,
                accounts.c.balance,
                accounts.c.held,
                accounts.c.floor,
            )
            .join(units, units.c.id == accounts.c.unit_id)
            .where(accounts.c.kind == "wallet", accounts.c.purpose.in_(purposes))
        )
        if not full:
            changed = (
                select(postings.c.account_id)
                .join(transactions, transactions.c.id == postings.c.transaction_id)
                .where(transactions.c.created_at >= cutoff)
            )
            query = query.where(accounts.c.id.in_(changed))
        for row in conn.execute(query):
            available = int(row.balance) - int(row.held) - int(row.floor or 0)
            balances.setdefault(row.unit, {})[row.purpose] = available

    cred_query = select(
        credentials.c.kind, credentials.c.value, credentials.c.status, units.c.code.label("unit")
    ).join(units, units.c.id == credentials.c.unit_id)
    if not full:
        cred_query = cred_query.where(
            or_(
                credentials.c.created_at >= cutoff,
                and_(
                    credentials.c.status_changed_at.is_not(None),
                    credentials.c.status_changed_at >= cutoff,
                ),
            )
        )
    active: dict[str, dict[str, str]] = {}
    revoked: list[str] = []
    for cred in conn.execute(cred_query):
        digest = dj.credential_hash(key, cred.kind, cred.value)
        if cred.status == "active":
            active[digest] = {"unit": cred.unit, "kind": cred.kind}
        else:
            revoked.append(digest)

    # Why each refused credential is refused (lost, blocked...), so a kiosk can say so;
    # sent whole every time (they are few), so a pull replaces what was held.
    refused_status = {
        dj.credential_hash(key, c.kind, c.value): str(c.status)
        for c in conn.execute(
            select(credentials.c.kind, credentials.c.value, credentials.c.status).where(
                credentials.c.status != "active"
            )
        )
    }
    passes, tariffs = _passes_and_tariffs(conn, terminal.terminal_type, key, estate)
    config_version, config = terminal_config.latest(conn, terminal_id)
    head_seq, _ = service.head(conn, terminal_id)
    return {
        "format": FORMAT,
        "terminal_id": terminal_id,
        "version": version,
        "since": since,
        "full": full,
        # Balances reflect every entry of this terminal's journal up to here.
        "journal_head": head_seq,
        "hash_key": key,
        "currency": estate.currency,
        "timezone": estate.timezone,
        "credentials": active,
        "revoked": sorted(revoked),
        "revoked_status": refused_status,
        "balances": balances,
        "fees": config.get("fees", {}),
        # Sent whole every time (they are few): a pull replaces what was held.
        "passes": passes,
        "tariffs": tariffs,
        "config_version": config_version,
        "offline_limits": config.get("offline_limits", {}),
        # A kiosk's technician cards, sent whole every time (they are few): keyed hash ->
        # id, role, status. Never a unit: a staff card opens no household.
        "staff_cards": staff_cards.for_snapshot(conn, key)
        if terminal.terminal_type == "kiosk"
        else {},
    }


def _passes_and_tariffs(
    conn: Connection, terminal_type: str, key: str, estate: Estate
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a gate or a turnstile decides on: passes valid today or later, and prices.

    A gate gets parking passes keyed by the plate's keyed hash (or ``unit:<code>``
    for a pass valid for any plate of the unit) and the parking tariffs in force;
    a turnstile gets the facilities' prices and hours and their passes by unit.
    """
    today = datetime.now(estate.zone).date().isoformat()
    passes: dict[str, Any] = {}
    tariffs: dict[str, Any] = {}
    if terminal_type == "gate":
        rows = conn.execute(
            select(
                parking_passes.c.plate,
                parking_passes.c.period,
                parking_passes.c.valid_from,
                parking_passes.c.valid_until,
                units.c.code.label("unit"),
            )
            .join(units, units.c.id == parking_passes.c.unit_id)
            .where(parking_passes.c.status == "active", parking_passes.c.valid_until >= today)
        )
        for p in rows:
            plate = p.plate
            name = f"unit:{p.unit}" if plate is None else dj.credential_hash(key, "plate", plate)
            passes[name] = {
                "unit": p.unit,
                "period": p.period,
                "valid_from": p.valid_from,
                "valid_until": p.valid_until,
            }
        for t in conn.execute(
            select(
                parking_tariffs.c.version,
                parking_tariffs.c.kind,
                parking_tariffs.c.spec,
                parking_tariffs.c.effective_from,
            ).order_by(parking_tariffs.c.effective_from)
        ):
            # Every version, oldest first: the terminal prices by the one in force.
            tariffs.setdefault(t.kind, []).append(
                {
                    "version": t.version,
                    "effective_from": t.effective_from.isoformat(),
                    "spec": json.loads(t.spec),
                }
            )
    elif terminal_type == "turnstile":
        for f in conn.execute(select(facilities)):
            tariffs[f.code] = {
                "kind": f.kind,
                "pricing": f.pricing,
                "price": str(f.price),
                "rate_per_minute": None if f.rate_per_minute is None else str(f.rate_per_minute),
                "max_minutes": f.max_minutes,
                "minimum_minutes": f.minimum_minutes,
                "hours": json.loads(f.hours),
                "allow_low_assurance": bool(f.allow_low_assurance),
            }
        rows = conn.execute(
            select(
                facility_passes.c.id,
                facility_passes.c.valid_from,
                facility_passes.c.valid_until,
                facility_passes.c.visits_left,
                facilities.c.code.label("facility"),
                units.c.code.label("unit"),
            )
            .join(facilities, facilities.c.id == facility_passes.c.facility_id)
            .join(units, units.c.id == facility_passes.c.unit_id)
            .where(facility_passes.c.valid_until >= today)
        )
        for p in rows:
            passes[p.id] = {
                "unit": p.unit,
                "facility": p.facility,
                "valid_from": p.valid_from,
                "valid_until": p.valid_until,
                "visits_left": p.visits_left,
            }
    return passes, tariffs
