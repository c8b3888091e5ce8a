"""Terminal journal endpoints: upload a batch, read the head, incidents and the day's report."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from central.api.deps import Db, EstateDep, require
from central.api.routes_ledger import BATCH_OPERATIONS, BATCH_PLANNERS, Responses
from central.auth.principal import Principal, Role
from central.errors import Forbidden
from central.journal import reconcile, service, snapshot
from domain import journal as dj

router = APIRouter(prefix="/v1/terminals", tags=["journal"])

TerminalOnly = require(Role.TERMINAL)
Readers = require(Role.MANAGER, Role.TECHNICIAN, Role.AUDITOR, Role.TERMINAL)
StaffReaders = require(Role.MANAGER, Role.TECHNICIAN, Role.AUDITOR)

Hex64 = Annotated[str, Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")]


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: Annotated[StrictInt, Field(ge=1)]
    entry_id: Annotated[str, Field(min_length=1, max_length=64)]
    prev_hash: Hex64
    terminal_ms: StrictInt
    server_ms: StrictInt
    kind: Annotated[str, Field(min_length=1, max_length=24)]
    body: dict[str, Any]
    hash: Hex64
    key_id: Annotated[str, Field(min_length=1, max_length=64)]
    signature: Annotated[str, Field(min_length=1, max_length=128)]


class JournalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: Annotated[list[EntryIn], Field(min_length=1, max_length=service.MAX_BATCH)]


class EntryVerdictOut(BaseModel):
    seq: int
    verdict: str
    code: str | None = None
    message: str | None = None
    transaction_id: str | None = None
    first_verdict: str | None = None


class ReceiptOut(BaseModel):
    terminal_id: str
    head_seq: int
    head_hash: str
    applied: int
    duplicate: int
    rejected: int
    results: list[EntryVerdictOut]


def _own(principal: Principal, terminal_id: str) -> None:
    if principal.kind == "terminal" and principal.id != terminal_id:
        raise Forbidden(
            f"terminal {principal.id} may only act for itself, not {terminal_id}",
            code="terminal_mismatch",
        )


@router.post("/{terminal_id}/journal", response_model=ReceiptOut, responses=Responses)
def upload(
    terminal_id: str,
    body: JournalIn,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(TerminalOnly)],
) -> JSONResponse:
    """Upload journal entries: each is applied exactly once and answered applied,
    duplicate or rejected (with a reason). A gap or a broken chain is reported as
    tampering, never papered over."""
    _own(principal, terminal_id)
    entries = [
        dj.Entry(
            e.seq,
            e.entry_id,
            e.prev_hash,
            e.terminal_ms,
            e.server_ms,
            e.kind,
            e.body,
            e.hash,
            e.key_id,
            e.signature,
        )
        for e in body.entries
    ]
    ledger = service.Ledger(estate, BATCH_PLANNERS, BATCH_OPERATIONS)
    with db.write() as conn:
        receipt = service.receive(conn, terminal_id=terminal_id, entries=entries, ledger=ledger)
    return JSONResponse(
        {
            "terminal_id": receipt.terminal_id,
            "head_seq": receipt.head_seq,
            "head_hash": receipt.head_hash,
            **receipt.counts(),
            "results": [r.to_wire() for r in receipt.results],
        }
    )


@router.get("/{terminal_id}/journal/head", responses=Responses)
def journal_head(
    terminal_id: str, db: Db, principal: Annotated[Principal, Depends(Readers)]
) -> dict[str, Any]:
    """The last entry of the terminal's journal the server holds, how many of its
    entries were rejected, and how many incidents (suspected tampering) it has."""
    _own(principal, terminal_id)
    with db.read() as conn:
        seq, digest = service.head(conn, terminal_id)
        numbers = service.counts(conn, terminal_id)
    return {"terminal_id": terminal_id, "head_seq": seq, "head_hash": digest, **numbers}


@router.get("/{terminal_id}/journal/incidents", responses=Responses)
def journal_incidents(
    terminal_id: str, db: Db, principal: Annotated[Principal, Depends(StaffReaders)]
) -> list[dict[str, Any]]:
    """Gaps, broken chains, edited or unsigned entries: what looked like tampering."""
    with db.read() as conn:
        return service.incidents(conn, terminal_id)


@router.get("/{terminal_id}/journal/report", responses=Responses)
def journal_report(
    terminal_id: str,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(StaffReaders)],
    day: Annotated[date, Query(description="the estate's local day, YYYY-MM-DD")],
) -> dict[str, Any]:
    """A terminal's day: its journal entries against what the ledger applied, every
    difference explained."""
    with db.read() as conn:
        return reconcile.server_report(conn, terminal_id=terminal_id, day=day, estate=estate)


@router.get("/{terminal_id}/snapshot", responses=Responses)
def get_snapshot(
    terminal_id: str,
    db: Db,
    estate: EstateDep,
    principal: Annotated[Principal, Depends(TerminalOnly)],
    since: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """What the terminal needs to decide alone, changed since version ``since``:
    credentials as keyed hashes with revocations, balances, fees, limits."""
    _own(principal, terminal_id)
    with db.write() as conn:  # the terminal's hash key is made on its first snapshot
        return snapshot.build(conn, terminal_id=terminal_id, since=since, estate=estate)
