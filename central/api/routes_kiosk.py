"""A kiosk reads one household's wallets, by the credential a resident just presented.

A terminal may not read ``GET /v1/units/{unit}/wallets`` (staff only): a kiosk
that could would list every unit's balances by guessing codes. Here a signed
kiosk (and only a terminal of kind kiosk) names the unit and presents the
credential it just verified, as its snapshot holds it: the card's keyed hash
under this terminal's snapshot key. The server answers only when that
credential is active and belongs to that unit. Each utility wallet carries
metering's state: days left at the last week's usage, the meter's supply state
and whether a restore is still waiting for the meter's acknowledgement.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, select

from central.api.deps import Db, EstateDep, get_settings, require
from central.api.views import unit_wallets
from central.auth.principal import Principal, Role
from central.db.schema import accounts, credentials, units
from central.db.types import utcnow
from central.errors import Forbidden
from central.journal.snapshot import hash_key
from central.ledger import accounts as acc
from central.ledger.recent import daily_spend, last_top_up
from central.metering.notify import daily_usage
from central.metering.supply import OPEN
from central.metering.tables import meters, supply_commands
from central.settings import Settings
from central.terminals.tables import terminals
from domain import journal as dj
from domain.wallets import UTILITIES

router = APIRouter(prefix="/v1/kiosk", tags=["kiosk"])

TerminalOnly = require(Role.TERMINAL)


class CredentialIn(BaseModel):
    """A card as the kiosk's snapshot holds it (``hash``), or a resident's QR ``token``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["card", "qr"]
    hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    token: Annotated[str, Field(max_length=200)] | None = None


QR_PREFIX = "PPQ1"
QR_MAX_LIFETIME_S = 300


def qr_token_unit(key: bytes, token: str, now: float) -> str | None:
    """The unit of a good, unexpired ``PPQ1.<unit>.<expiry>.<mac>`` token (the
    residents' app's format, kiosk/tokens.py), else None."""
    parts = token.strip().split(".")
    # hmac.compare_digest refuses non-ASCII text; no token has any.
    if not key or not token.isascii() or len(parts) != 4 or parts[0] != QR_PREFIX:
        return None
    if not (parts[2].isascii() and parts[2].isdigit()):  # "¹" is a digit int() refuses
        return None
    body = ".".join(parts[:3])
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    mac = base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")
    expires = int(parts[2])
    if not hmac.compare_digest(mac, parts[3]) or not now <= expires <= now + QR_MAX_LIFETIME_S:
        return None
    return parts[1]


class HouseholdIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: Annotated[str, Field(min_length=1, max_length=32)]
    credential: CredentialIn


def _kiosk(conn: Connection, principal: Principal) -> None:
    kind = conn.execute(
        select(terminals.c.terminal_type).where(terminals.c.id == principal.id)
    ).scalar_one_or_none()
    if principal.kind != "terminal" or kind != "kiosk":
        raise Forbidden("only a lobby kiosk reads a household's wallets", code="not_a_kiosk")


def _credential_matches(
    conn: Connection, terminal_id: str, unit: str, cred: CredentialIn, qr_key: bytes
) -> bool:
    if cred.kind == "qr":
        return cred.token is not None and qr_token_unit(qr_key, cred.token, time.time()) == unit
    if cred.hash is None:
        return False
    key = hash_key(conn, terminal_id)
    rows = conn.execute(
        select(credentials.c.kind, credentials.c.value)
        .join(units, units.c.id == credentials.c.unit_id)
        .where(
            units.c.code == unit,
            credentials.c.kind == cred.kind,
            credentials.c.status == "active",
        )
    ).all()
    return any(
        hmac.compare_digest(dj.credential_hash(key, r.kind, r.value), cred.hash) for r in rows
    )


def _metering(conn: Connection, unit: str, utility: str, available: int) -> dict[str, Any]:
    """Days left, supply state and a restore not yet acknowledged, for one utility."""
    out: dict[str, Any] = {"days_left": None, "supply": None, "restore_pending": False}
    account = conn.execute(
        select(accounts.c.id)
        .join(units, units.c.id == accounts.c.unit_id)
        .where(units.c.code == unit, accounts.c.purpose == utility)
    ).scalar_one_or_none()
    if account is not None:
        per_day = daily_usage(conn, account, utcnow())
        out["days_left"] = None if per_day <= 0 else max(0, available) // per_day
    meter = conn.execute(
        select(meters.c.id, meters.c.desired_state, meters.c.reported_state)
        .join(units, units.c.id == meters.c.unit_id)
        .where(units.c.code == unit, meters.c.utility == utility, meters.c.status == "active")
        .order_by(meters.c.id.desc())
        .limit(1)
    ).first()
    if meter is not None:
        # What the meter last said is the truth on site; before it says, what is wanted.
        out["supply"] = meter.reported_state or meter.desired_state
        if out["supply"] not in ("on", "off", "limited"):
            out["supply"] = meter.desired_state
        restore = conn.execute(
            select(supply_commands.c.id).where(
                supply_commands.c.meter_id == meter.id,
                supply_commands.c.action == "restore",
                supply_commands.c.status.in_(OPEN),
            )
        ).first()
        out["restore_pending"] = restore is not None
    return out


def _recent(conn: Connection, unit: str, purpose: str, zone: Any) -> dict[str, Any]:
    """The last week's spend per local day and the last top-up, for the overview."""
    account = acc.wallet(conn, unit, purpose)
    top_up = last_top_up(conn, account.id, zone=zone)
    return {
        "spend_by_day": [
            {"day": d.day.isoformat(), "amount": d.amount}
            for d in daily_spend(conn, account.id, now=utcnow(), zone=zone)
        ],
        "last_top_up": None
        if top_up is None
        else {"at": top_up.at.isoformat(), "amount": top_up.amount, "method": top_up.method},
    }


@router.post("/household-wallets")
def household_wallets(
    body: HouseholdIn,
    db: Db,
    estate: EstateDep,
    settings: Annotated[Settings, Depends(get_settings)],
    principal: Annotated[Principal, Depends(TerminalOnly)],
) -> dict[str, Any]:
    """The wallets of the unit whose credential the kiosk just verified."""
    # write: the terminal's hash key is made on first use (normally by its first snapshot).
    with db.write() as conn:
        _kiosk(conn, principal)
        qr_key = bytes.fromhex(settings.qr_token_key) if settings.qr_token_key else b""
        if not _credential_matches(conn, principal.id, body.unit, body.credential, qr_key):
            # The same answer for an unknown unit and a credential of another unit:
            # a kiosk learns nothing by guessing.
            raise Forbidden(
                "this credential does not open that unit: identify the resident again",
                code="credential_mismatch",
            )
        utilities = {u.value for u in UTILITIES}
        wallets = []
        for w in unit_wallets(conn, body.unit):
            out: dict[str, Any] = {
                "purpose": w.purpose,
                "currency": w.currency,
                "balance": w.balance,
                "available": w.available,
                "floor": w.floor,
                "days_left": None,
                "supply": None,
                "restore_pending": False,
            }
            if w.purpose in utilities:
                out.update(_metering(conn, body.unit, w.purpose, w.available))
            out.update(_recent(conn, body.unit, w.purpose, estate.zone))
            wallets.append(out)
    return {"unit": body.unit, "wallets": wallets}
