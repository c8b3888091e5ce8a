"""Terminal endpoints: enrolment codes, enrolment, keys, configuration, heartbeats, fleet."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from central.api.deps import Db, IdempotencyKey, require, write
from central.api.routes_ledger import Responses
from central.auth.principal import Principal, Role
from central.db.types import utcnow
from central.errors import Forbidden, InvalidRequest
from central.terminals import config as terminal_config
from central.terminals import enrolment, health, keys, lifecycle, staff_cards
from central.terminals.verify import prune_nonces
from domain import signing

log = logging.getLogger("central.terminals")

router = APIRouter(prefix="/v1/terminals", tags=["terminals"])

ManagerOnly = require(Role.MANAGER)
FleetReaders = require(Role.MANAGER, Role.TECHNICIAN, Role.AUDITOR)
TerminalOnly = require(Role.TERMINAL)
ConfigReaders = require(Role.MANAGER, Role.TECHNICIAN, Role.AUDITOR, Role.TERMINAL)
ConfigWriters = require(Role.MANAGER, Role.TECHNICIAN, Role.TERMINAL)

TerminalType = Literal["kiosk", "gate", "turnstile", "meter-gateway"]
Base64Key = Annotated[str, Field(min_length=40, max_length=48)]
Base64Sig = Annotated[str, Field(min_length=80, max_length=96)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CodeIn(Body):
    terminal_type: TerminalType
    location: Annotated[str, Field(min_length=1, max_length=200)]
    ttl_hours: Annotated[float, Field(gt=0, le=720)] = 24
    server: Annotated[str, Field(max_length=200)] | None = None  # put in the QR code


class CodeOut(BaseModel):
    code: str
    terminal_type: str
    location: str
    expires_at: str
    qr_text: str
    qr_svg: str


class EnrolIn(Body):
    code: Annotated[str, Field(min_length=4, max_length=64)]
    public_key: Base64Key
    proof: Base64Sig
    terminal_type: TerminalType | None = None


class EnrolOut(BaseModel):
    terminal_id: str
    key_id: str
    terminal_type: str
    location: str
    config_version: int
    config: dict[str, Any]
    server_time: float


class KeyIn(Body):
    public_key: Base64Key
    proof: Base64Sig


class ConfigOut(BaseModel):
    terminal_id: str
    version: int
    config: dict[str, Any]
    acknowledged_version: int | None = None


class ConfigIn(Body):
    config: dict[str, Any]
    base_version: int | None = None


class AckIn(Body):
    version: Annotated[int, Field(ge=1)]


class DeviceState(Body):
    ok: bool
    state: Annotated[str, Field(max_length=64)] = ""
    detail: Annotated[str, Field(max_length=400)] = ""


class HeartbeatIn(Body):
    software_version: Annotated[str, Field(max_length=32)]
    config_version: int | None = None
    journal_backlog: Annotated[int, Field(ge=0)] = 0
    journal_head: Annotated[int, Field(ge=0)] | None = None
    clock: float
    devices: dict[str, DeviceState] = Field(default_factory=dict)


class DecommissionIn(Body):
    last_entry: Annotated[int, Field(ge=0)] | None = None


class SyncedIn(Body):
    last_seq: Annotated[int, Field(ge=0)]


class StaffCardIn(Body):
    card_number: Annotated[str, Field(min_length=2, max_length=32)]
    staff: Annotated[str, Field(min_length=2, max_length=64)]  # the technician's username


class StaffCardStatusIn(Body):
    status: Literal["active", "lost", "revoked"]


def _self_or_staff(principal: Principal, terminal_id: str) -> None:
    if principal.kind == "terminal" and principal.id != terminal_id:
        raise Forbidden(
            f"terminal {principal.id} may not act for {terminal_id}", code="terminal_mismatch"
        )


def _b64(text: str) -> bytes:
    try:
        return signing.unb64(text)
    except signing.SignatureFormatError as err:
        raise InvalidRequest("keys and proofs are standard base64", code="invalid_base64") from err


@router.post("/enrolment-codes", status_code=201, response_model=CodeOut, responses=Responses)
def create_enrolment_code(
    body: CodeIn, db: Db, principal: Annotated[Principal, Depends(ManagerOnly)]
) -> CodeOut:
    """A one-time code a technician enrols one terminal with (text and QR)."""
    with db.write() as conn:
        code = enrolment.create_code(
            conn,
            terminal_type=body.terminal_type,
            location=body.location,
            created_by=principal.actor,
            ttl=timedelta(hours=body.ttl_hours),
        )
    log.info(
        "enrolment code created",
        extra={"terminal_type": code.terminal_type, "location": code.location},
    )
    return CodeOut(
        code=code.code,
        terminal_type=code.terminal_type,
        location=code.location,
        expires_at=code.expires_at.isoformat(),
        qr_text=code.qr_text(body.server),
        qr_svg=code.qr(body.server).svg_inline(scale=4),
    )


@router.post("/enrol", status_code=201, response_model=EnrolOut, responses=Responses)
def enrol(body: EnrolIn, db: Db) -> EnrolOut:
    """Spend an enrolment code: the terminal's public key in, its id and config out."""
    with db.write() as conn:
        done = enrolment.enrol(
            conn,
            code=body.code,
            public_key=_b64(body.public_key),
            proof=_b64(body.proof),
            terminal_type=body.terminal_type,
        )
    log.info(
        "terminal enrolled",
        extra={"terminal": done.terminal_id, "key_id": done.key_id, "location": done.location},
    )
    return EnrolOut(
        terminal_id=done.terminal_id,
        key_id=done.key_id,
        terminal_type=done.terminal_type,
        location=done.location,
        config_version=done.config_version,
        config=done.config,
        server_time=utcnow().timestamp(),
    )


# -- staff cards (before "/{terminal_id}", which would take "staff-cards" for an id) --------
@router.post("/staff-cards", status_code=201, responses=Responses)
def issue_staff_card(
    body: StaffCardIn,
    db: Db,
    principal: Annotated[Principal, Depends(ManagerOnly)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """A technician card: the kiosks open their technician screen for it (snapshot)."""
    return write(
        db,
        principal=principal,
        key=key,
        operation="issue_staff_card",
        request=body.model_dump(),
        apply=lambda conn: {
            "id": staff_cards.issue(
                conn, card_number=body.card_number, username=body.staff, created_by=principal.actor
            )
        },
        subject=f"staff:{body.staff}",
    )


@router.post("/staff-cards/{card_id}/status", responses=Responses)
def set_staff_card_status(
    card_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: StaffCardStatusIn,
    db: Db,
    principal: Annotated[Principal, Depends(ManagerOnly)],
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Mark a staff card lost or revoked (or active again): kiosks refuse it after their
    next snapshot."""

    def apply(conn: Any) -> dict[str, Any]:
        staff_cards.set_status(conn, card_id, body.status)
        return {"id": card_id, "status": body.status}

    return write(
        db,
        principal=principal,
        key=key,
        operation="staff_card_status",
        request={"id": card_id, **body.model_dump()},
        apply=apply,
        subject=f"staff_card:{card_id}",
        before=lambda conn: {"status": staff_cards.status_of(conn, card_id)},
        status_code=200,
    )


@router.get("/staff-cards", responses=Responses)
def list_staff_cards(
    db: Db, principal: Annotated[Principal, Depends(FleetReaders)]
) -> list[dict[str, Any]]:
    """Every staff card with its holder and status."""
    with db.read() as conn:
        return [_card_out(card) for card in staff_cards.list_cards(conn)]


def _card_out(card: staff_cards.StaffCard) -> dict[str, Any]:
    return {
        "id": card.id,
        "card_number": card.card_number,
        "staff": card.staff,
        "role": card.role,
        "status": card.status,
        "created_at": card.created_at,
    }


@router.get("", responses=Responses)
def list_fleet(
    db: Db,
    principal: Annotated[Principal, Depends(FleetReaders)],
    state: str | None = None,
) -> dict[str, Any]:
    """Every terminal with its health: online, degraded, offline (or retired)."""
    with db.read() as conn:
        items = health.fleet(conn)
    if state:
        items = [t for t in items if t.state == state]
    counts: dict[str, int] = {"online": 0, "degraded": 0, "offline": 0, "retired": 0}
    for t in items:
        counts[t.state] = counts.get(t.state, 0) + 1
    return {"counts": counts, "terminals": [t.as_dict() for t in items]}


@router.get("/{terminal_id}", responses=Responses)
def get_terminal(
    terminal_id: str, db: Db, principal: Annotated[Principal, Depends(ConfigReaders)]
) -> dict[str, Any]:
    """One terminal's health and lifecycle status."""
    _self_or_staff(principal, terminal_id)
    with db.read() as conn:
        items = health.fleet(conn, terminal_id=terminal_id)
        if not items:
            lifecycle.status_of(conn, terminal_id)  # raises NotFound
        return {**items[0].as_dict(), **lifecycle.status_of(conn, terminal_id)}


@router.post("/{terminal_id}/keys", status_code=201, responses=Responses)
def rotate_key(
    terminal_id: str,
    body: KeyIn,
    db: Db,
    principal: Annotated[Principal, Depends(TerminalOnly)],
) -> dict[str, Any]:
    """Replace the terminal's key (signed with the current one, proved by the next)."""
    _self_or_staff(principal, terminal_id)
    with db.write() as conn:
        key_id = keys.rotate(
            conn, terminal_id=terminal_id, public_key=_b64(body.public_key), proof=_b64(body.proof)
        )
    log.info("terminal key rotated", extra={"terminal": terminal_id, "key_id": key_id})
    return {"terminal_id": terminal_id, "key_id": key_id}


@router.get("/{terminal_id}/config", response_model=ConfigOut, responses=Responses)
def get_config(
    terminal_id: str, db: Db, principal: Annotated[Principal, Depends(ConfigReaders)]
) -> ConfigOut:
    """The newest configuration version of a terminal."""
    _self_or_staff(principal, terminal_id)
    with db.read() as conn:
        version, config = terminal_config.latest(conn, terminal_id)
        status = health.fleet(conn, terminal_id=terminal_id)
    acked = status[0].config_version_acked if status else None
    return ConfigOut(
        terminal_id=terminal_id, version=version, config=config, acknowledged_version=acked
    )


@router.put("/{terminal_id}/config", response_model=ConfigOut, responses=Responses)
def put_config(
    terminal_id: str,
    body: ConfigIn,
    db: Db,
    principal: Annotated[Principal, Depends(ConfigWriters)],
) -> ConfigOut:
    """Store a new configuration version (refused if ``base_version`` is not the newest)."""
    _self_or_staff(principal, terminal_id)
    with db.write() as conn:
        version = terminal_config.put(
            conn, terminal_id, body.config, base_version=body.base_version, actor=principal.actor
        )
        _, config = terminal_config.latest(conn, terminal_id)
    log.info("terminal config set", extra={"terminal": terminal_id, "version": version})
    return ConfigOut(terminal_id=terminal_id, version=version, config=config)


@router.post("/{terminal_id}/config/ack", status_code=204, responses=Responses)
def ack_config(
    terminal_id: str,
    body: AckIn,
    db: Db,
    principal: Annotated[Principal, Depends(TerminalOnly)],
) -> None:
    """The terminal applied configuration ``version`` and runs it now."""
    _self_or_staff(principal, terminal_id)
    with db.write() as conn:
        terminal_config.acknowledge(conn, terminal_id, body.version)


@router.post("/{terminal_id}/heartbeat", responses=Responses)
def heartbeat(
    terminal_id: str,
    body: HeartbeatIn,
    db: Db,
    principal: Annotated[Principal, Depends(TerminalOnly)],
) -> dict[str, Any]:
    """Software and config versions, device states, journal backlog, the terminal's clock."""
    _self_or_staff(principal, terminal_id)
    beat = health.Heartbeat(
        software_version=body.software_version,
        config_version=body.config_version,
        journal_backlog=body.journal_backlog,
        journal_head=body.journal_head,
        clock=body.clock,
        devices={name: d.model_dump() for name, d in body.devices.items()},
    )
    with db.write() as conn:
        answer = health.record(conn, terminal_id, beat)
        status = lifecycle.status_of(conn, terminal_id)["status"]
        prune_nonces(conn)
    return {**answer, "status": status}


@router.post("/{terminal_id}/journal/synced", responses=Responses)
def journal_synced(
    terminal_id: str,
    body: SyncedIn,
    db: Db,
    principal: Annotated[Principal, Depends(TerminalOnly)],
) -> dict[str, Any]:
    """The server holds the terminal's journal up to ``last_seq`` (ends a decommission)."""
    _self_or_staff(principal, terminal_id)
    with db.write() as conn:
        return lifecycle.journal_synced(conn, terminal_id, body.last_seq)


@router.post("/{terminal_id}/decommission", responses=Responses)
def decommission(
    terminal_id: str,
    body: DecommissionIn,
    db: Db,
    principal: Annotated[Principal, Depends(ManagerOnly)],
) -> dict[str, Any]:
    """Start nothing new; let the journal land up to ``last_entry``; then the key dies."""
    with db.write() as conn:
        return lifecycle.decommission(conn, terminal_id, last_entry=body.last_entry)


@router.post("/{terminal_id}/revoke", responses=Responses)
def revoke(
    terminal_id: str, db: Db, principal: Annotated[Principal, Depends(ManagerOnly)]
) -> dict[str, Any]:
    """Kill the terminal's keys at once (a stolen or compromised terminal)."""
    with db.write() as conn:
        return lifecycle.revoke(conn, terminal_id)
