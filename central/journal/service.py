"""Receiving a batch of a terminal's journal: verify, apply exactly once, answer each entry.

See the package's doc for the flow. Nothing here commits: the caller's one
transaction holds the head, the ledger's postings and the verdicts together, so a
crash anywhere leaves either all of a batch or none of it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from central.cash.service import record_collection
from central.db.types import utcnow
from central.errors import CentralError
from central.estate.settings import Estate
from central.facilities.service import record_pass_use
from central.journal.tables import journal_entries, journal_heads, journal_incidents
from central.ledger.batch import Entry as LedgerEntry
from central.ledger.batch import Operation, Planner, apply_batch
from central.ledger.idempotency import run_once
from central.ledger.plans import Context
from central.terminals import keys, lifecycle
from domain import journal as dj
from domain import signing

log = logging.getLogger("central.journal")

MAX_BATCH = 2000
CHUNK = 500

# Codes that mean the chain itself is wrong (tampering, or a broken terminal).
TAMPER_CODES = frozenset(
    {
        "sequence_gap",
        "chain_broken",
        "hash_mismatch",
        "bad_signature",
        "conflicts_with_accepted",
        "duplicate_in_batch",
    }
)


@dataclass(frozen=True, slots=True)
class EntryVerdict:
    seq: int
    verdict: str  # applied | duplicate | rejected
    code: str | None = None
    message: str | None = None
    transaction_id: str | None = None
    first_verdict: str | None = None  # for a duplicate: what the entry got the first time

    def to_wire(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "verdict": self.verdict,
            "code": self.code,
            "message": self.message,
            "transaction_id": self.transaction_id,
            "first_verdict": self.first_verdict,
        }


@dataclass(slots=True)
class Receipt:
    terminal_id: str
    head_seq: int
    head_hash: str
    results: list[EntryVerdict] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {v: 0 for v in dj.VERDICTS}
        for r in self.results:
            out[r.verdict] += 1
        return out


@dataclass(frozen=True, slots=True)
class Ledger:
    """What applying money-moving entries needs from the ledger."""

    estate: Estate
    planners: Mapping[str, Planner]
    operations: Mapping[str, Operation]


def _lock_head(conn: Connection, terminal_id: str, now: datetime) -> tuple[int, str]:
    query = (
        select(journal_heads.c.last_seq, journal_heads.c.last_hash)
        .where(journal_heads.c.terminal_id == terminal_id)
        .with_for_update()
    )
    row = conn.execute(query).first()
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(journal_heads).values(
                        terminal_id=terminal_id,
                        last_seq=0,
                        last_hash=dj.GENESIS_HASH,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            pass  # another upload of this terminal made it first; lock theirs
        row = conn.execute(query).one()
    return int(row.last_seq), str(row.last_hash)


def _incident(
    conn: Connection, terminal_id: str, seq: int | None, code: str, detail: str, now: datetime
) -> None:
    conn.execute(
        insert(journal_incidents).values(
            terminal_id=terminal_id, seq=seq, code=code, detail=detail, seen_at=now
        )
    )
    log.warning(
        "journal tampering suspected",
        extra={"terminal": terminal_id, "seq": seq, "code": code, "detail": detail},
    )


def _signature_ok(conn: Connection, terminal_id: str, entry: dj.Entry) -> bool:
    try:
        signature = signing.unb64(entry.signature)
    except signing.SignatureFormatError:
        return False
    return keys.verify_detached(
        conn,
        terminal_id=terminal_id,
        key_id=entry.key_id,
        message=dj.signed_message(entry.hash),
        signature=signature,
    )


def _resends(
    conn: Connection, terminal_id: str, old: Sequence[dj.Entry], now: datetime
) -> dict[int, EntryVerdict]:
    stored: dict[int, Any] = {}
    seqs = [e.seq for e in old]
    for i in range(0, len(seqs), CHUNK):
        for row in conn.execute(
            select(
                journal_entries.c.seq,
                journal_entries.c.hash,
                journal_entries.c.verdict,
                journal_entries.c.code,
                journal_entries.c.message,
                journal_entries.c.transaction_id,
            ).where(
                journal_entries.c.terminal_id == terminal_id,
                journal_entries.c.seq.in_(seqs[i : i + CHUNK]),
            )
        ):
            stored[int(row.seq)] = row
    out: dict[int, EntryVerdict] = {}
    for e in old:
        found = stored.get(e.seq)
        if found is not None and found.hash == e.hash and e.computed_hash(terminal_id) == e.hash:
            out[e.seq] = EntryVerdict(
                e.seq,
                "duplicate",
                found.code,
                found.message,
                found.transaction_id,
                first_verdict=found.verdict,
            )
            continue
        detail = (
            f"entry {e.seq} differs from the one accepted before"
            if found is not None
            else f"entry {e.seq} is at or below the head but was never accepted"
        )
        _incident(conn, terminal_id, e.seq, "conflicts_with_accepted", detail, now)
        out[e.seq] = EntryVerdict(e.seq, "rejected", "conflicts_with_accepted", detail)
    return out


def _admitted_up_to(conn: Connection, terminal_id: str, seqs: Sequence[int]) -> int:
    """The highest of ``seqs`` the terminal's status still admits (admission only ever
    ends at a last entry), asking ``lifecycle.journal_admits`` a few times, not per entry."""
    if not seqs:
        return 0
    ordered = sorted(seqs)
    if lifecycle.journal_admits(conn, terminal_id, ordered[-1]):
        return ordered[-1]
    low, high = 0, len(ordered) - 1  # ordered[high] is refused
    if not lifecycle.journal_admits(conn, terminal_id, ordered[0]):
        return 0
    while high - low > 1:
        mid = (low + high) // 2
        if lifecycle.journal_admits(conn, terminal_id, ordered[mid]):
            low = mid
        else:
            high = mid
    return ordered[low]


def _chain(
    conn: Connection,
    terminal_id: str,
    new: Sequence[dj.Entry],
    head_seq: int,
    head_hash: str,
    now: datetime,
) -> tuple[list[dj.Entry], dict[int, EntryVerdict]]:
    """The longest prefix of ``new`` that extends the chain and is signed; verdicts of the rest."""
    accepted: list[dj.Entry] = []
    refused: dict[int, EntryVerdict] = {}
    expected, prev = head_seq + 1, head_hash
    broken: tuple[str, str] | None = None
    admitted_up_to = _admitted_up_to(conn, terminal_id, [e.seq for e in new])
    for e in new:
        if broken is not None:
            refused[e.seq] = EntryVerdict(e.seq, "rejected", "after_break", broken[1])
            continue
        if e.seq != expected:
            broken = ("sequence_gap", f"expected entry {expected}, got {e.seq}: a gap")
        elif e.prev_hash != prev:
            broken = ("chain_broken", f"entry {e.seq} does not name the hash of entry {e.seq - 1}")
        elif e.computed_hash(terminal_id) != e.hash:
            broken = ("hash_mismatch", f"entry {e.seq} does not hash to what it claims: edited")
        elif e.seq > admitted_up_to:
            broken = (
                "terminal_retired",
                f"terminal {terminal_id} was decommissioned before entry {e.seq}",
            )
        if broken is not None:
            refused[e.seq] = EntryVerdict(e.seq, "rejected", broken[0], broken[1])
            if broken[0] in TAMPER_CODES:
                _incident(conn, terminal_id, e.seq, broken[0], broken[1], now)
            else:
                log.warning(
                    "journal entry refused",
                    extra={"terminal": terminal_id, "seq": e.seq, "code": broken[0]},
                )
            continue
        accepted.append(e)
        expected, prev = e.seq + 1, e.hash
    if accepted and not _signature_ok(conn, terminal_id, accepted[-1]):
        # Rare: find the last entry whose own signature verifies; the chain vouches
        # for everything before it, nothing after it is accepted.
        keep = 0
        for i in range(len(accepted) - 1, -1, -1):
            if _signature_ok(conn, terminal_id, accepted[i]):
                keep = i + 1
                break
        bad = accepted[keep]
        detail = f"entry {bad.seq} is not signed by a key of {terminal_id}"
        _incident(conn, terminal_id, bad.seq, "bad_signature", detail, now)
        for e in accepted[keep:]:
            refused[e.seq] = EntryVerdict(e.seq, "rejected", "bad_signature", detail)
        accepted = accepted[:keep]
    return accepted, refused


def _apply(
    conn: Connection,
    terminal_id: str,
    entries: Sequence[dj.Entry],
    ledger: Ledger,
) -> dict[int, EntryVerdict]:
    out: dict[int, EntryVerdict] = {}
    money: list[LedgerEntry] = []
    seq_of: dict[str, int] = {}
    for e in entries:
        if e.kind in dj.LEDGER_KINDS:
            key = dj.ledger_key(terminal_id, e.seq)
            seq_of[key] = e.seq
            money.append(LedgerEntry(key, e.kind, dj.ledger_body(e.body)))
        elif e.kind == "pass_use":
            out[e.seq] = _pass_use(conn, terminal_id, e, ledger)
        elif e.kind == "cash_collected":
            out[e.seq] = _cash_collected(conn, terminal_id, e, ledger)
        elif e.kind in dj.EVENT_KINDS:
            out[e.seq] = EntryVerdict(e.seq, "applied")
        else:
            out[e.seq] = EntryVerdict(
                e.seq, "rejected", "unknown_kind", f"no journal entry kind {e.kind!r}"
            )
    if money:
        actor = f"terminal:{terminal_id}"

        def context_for(key: str) -> Context:
            return Context(
                estate=ledger.estate, idempotency_key=key, actor=actor, terminal_id=terminal_id
            )

        for v in apply_batch(
            conn,
            money,
            planners=ledger.planners,
            operations=ledger.operations,
            context_for=context_for,
            currency=ledger.estate.currency,
        ):
            seq = seq_of[v.key]
            transaction_id = (v.result or {}).get("transaction_id")
            if v.verdict == "rejected":
                out[seq] = EntryVerdict(seq, "rejected", v.code, v.message)
            else:
                # "duplicate" here means the ledger already held this key (posted by a
                # path other than this journal): the money moved once, which is the point.
                out[seq] = EntryVerdict(seq, "applied", transaction_id=transaction_id)
    return out


def _pass_use(conn: Connection, terminal_id: str, entry: dj.Entry, ledger: Ledger) -> EntryVerdict:
    """A visit a turnstile let through on a pass: count it down on the server's pass.

    Once per entry: the visit is recorded under the entry's ledger key, and a
    replayed batch finds it there."""
    key = dj.ledger_key(terminal_id, entry.seq)
    facility, unit = entry.body.get("facility"), entry.body.get("unit")
    if not isinstance(facility, str) or not isinstance(unit, str):
        return EntryVerdict(
            entry.seq, "rejected", "malformed_entry", "a pass use names its facility and unit"
        )
    ctx = Context(
        estate=ledger.estate,
        idempotency_key=key,
        actor=f"terminal:{terminal_id}",
        terminal_id=terminal_id,
    )
    try:
        with conn.begin_nested():
            run_once(
                conn,
                key=key,
                operation="pass_use",
                request={"facility": facility, "unit": unit},
                apply=lambda: record_pass_use(conn, ctx, facility=facility, unit=unit),
            )
    except CentralError as err:
        return EntryVerdict(entry.seq, "rejected", err.code, err.message)
    return EntryVerdict(entry.seq, "applied")


def _cash_collected(
    conn: Connection, terminal_id: str, entry: dj.Entry, ledger: Ledger
) -> EntryVerdict:
    """A kiosk's cash box pulled: recorded once as a collection the office will count."""
    try:
        collected_at = datetime.fromtimestamp(entry.server_ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        collected_at = utcnow()  # a clock beyond any date: the day it arrived will do
    try:
        with conn.begin_nested():
            record_collection(
                conn,
                terminal_id=terminal_id,
                seq=entry.seq,
                body=entry.body,
                collected_at=collected_at,
                currency=ledger.estate.currency,
            )
    except CentralError as err:
        return EntryVerdict(entry.seq, "rejected", err.code, err.message)
    return EntryVerdict(entry.seq, "applied")


def receive(
    conn: Connection,
    *,
    terminal_id: str,
    entries: Sequence[dj.Entry],
    ledger: Ledger,
    now: datetime | None = None,
) -> Receipt:
    """Verify and apply one uploaded batch, inside the caller's transaction."""
    now = now or utcnow()
    head_seq, head_hash = _lock_head(conn, terminal_id, now)
    ordered = sorted(entries, key=lambda e: e.seq)
    verdicts: dict[int, EntryVerdict] = {}
    seen: set[int] = set()
    unique: list[dj.Entry] = []
    for e in ordered:
        if e.seq in seen:
            continue  # the first copy gets the verdict; a second copy is reported below
        seen.add(e.seq)
        unique.append(e)
    duplicates_in_batch = len(ordered) - len(unique)
    if duplicates_in_batch:
        _incident(
            conn,
            terminal_id,
            None,
            "duplicate_in_batch",
            f"{duplicates_in_batch} sequence numbers appear twice in one batch",
            now,
        )
    old = [e for e in unique if e.seq <= head_seq]
    new = [e for e in unique if e.seq > head_seq]
    if old:
        verdicts.update(_resends(conn, terminal_id, old, now))
    accepted, refused = _chain(conn, terminal_id, new, head_seq, head_hash, now)
    verdicts.update(refused)
    if accepted:
        applied = _apply(conn, terminal_id, accepted, ledger)
        verdicts.update(applied)
        conn.execute(
            insert(journal_entries),
            [
                {
                    "terminal_id": terminal_id,
                    "seq": e.seq,
                    "entry_id": e.entry_id,
                    "hash": e.hash,
                    "kind": e.kind,
                    "body": json.dumps(e.body, separators=(",", ":"), sort_keys=True),
                    "terminal_ms": e.terminal_ms,
                    "server_ms": e.server_ms,
                    "received_at": now,
                    "verdict": applied[e.seq].verdict,
                    "code": applied[e.seq].code,
                    "message": applied[e.seq].message,
                    "transaction_id": applied[e.seq].transaction_id,
                }
                for e in accepted
            ],
        )
        head_seq, head_hash = accepted[-1].seq, accepted[-1].hash
        conn.execute(
            update(journal_heads)
            .where(journal_heads.c.terminal_id == terminal_id)
            .values(last_seq=head_seq, last_hash=head_hash, updated_at=now)
        )
        lifecycle.journal_synced(conn, terminal_id, head_seq, now=now)
        if log.isEnabledFor(logging.DEBUG):
            for seq, v in applied.items():
                log.debug(
                    "journal entry",
                    extra={
                        "terminal": terminal_id,
                        "seq": seq,
                        "verdict": v.verdict,
                        "transaction_id": v.transaction_id,
                    },
                )
        for seq, v in applied.items():
            if v.verdict == "rejected":
                log.warning(
                    "journal entry rejected",
                    extra={"terminal": terminal_id, "seq": seq, "code": v.code},
                )
    receipt = Receipt(terminal_id, head_seq, head_hash, [verdicts[e.seq] for e in unique])
    counts = receipt.counts()
    log.info(
        "journal batch",
        extra={
            "terminal": terminal_id,
            "first_seq": unique[0].seq if unique else None,
            "last_seq": unique[-1].seq if unique else None,
            "head_seq": head_seq,
            **counts,
        },
    )
    return receipt


def head(conn: Connection, terminal_id: str) -> tuple[int, str]:
    row = conn.execute(
        select(journal_heads.c.last_seq, journal_heads.c.last_hash).where(
            journal_heads.c.terminal_id == terminal_id
        )
    ).first()
    return (0, dj.GENESIS_HASH) if row is None else (int(row.last_seq), str(row.last_hash))


def counts(conn: Connection, terminal_id: str) -> dict[str, int]:
    """How many of the terminal's entries the server rejected, and how many incidents."""
    rejected = conn.execute(
        select(func.count())
        .select_from(journal_entries)
        .where(
            journal_entries.c.terminal_id == terminal_id,
            journal_entries.c.verdict == "rejected",
        )
    ).scalar_one()
    seen = conn.execute(
        select(func.count())
        .select_from(journal_incidents)
        .where(journal_incidents.c.terminal_id == terminal_id)
    ).scalar_one()
    return {"rejected": int(rejected), "incidents": int(seen)}


def incidents(conn: Connection, terminal_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(journal_incidents)
        .where(journal_incidents.c.terminal_id == terminal_id)
        .order_by(journal_incidents.c.id)
    ).all()
    return [
        {
            "seq": r.seq,
            "code": r.code,
            "detail": r.detail,
            "seen_at": r.seen_at.isoformat(),
        }
        for r in rows
    ]
