"""A pulled cash box recorded from the journal, and the back office's count of it.

Signs are the ledger's: a cash top-up posts ``cash_box:<terminal>`` -E and the
wallet +E, so a box holding E reads -E. The count posts, in one transaction
keyed ``cash_count:<collection id>``:

- ``cash_box:<terminal>`` +E (the kiosk's count: the box is relieved of exactly it);
- ``clearing:bank`` -C (what the office counted goes to the bank);
- ``variance:cash`` C - E (short: negative, a debit; over: positive, a credit).

A leg of zero is left out, and a box counted empty that the kiosk counted empty
posts nothing. ``variance`` in the answers is C - E: the change of
``variance:cash``. A count is corrected only by a recount (``central.cash.recount``),
appended beside it; ``counted`` in the answers is the count in force.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard

from sqlalchemy import Connection, insert, select, update

from central.cash.tables import STATUSES, cash_collections, cash_recounts
from central.db.types import utcnow
from central.errors import InvalidRequest, NotFound, Refused
from central.ledger import accounts as acc
from central.ledger.plans import Context
from central.ledger.posting import Leg, post
from domain.money import MAX_AMOUNT, Money
from domain.wallets import BANK_CLEARING_CODE, CASH_VARIANCE_CODE, cash_box_code

DENOMINATION = re.compile(r"[1-9][0-9]{0,12}")  # minor units, as the kiosk writes them
DEVICE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")
MAX_DENOMINATIONS = 64
MAX_PIECES = 10**7
MAX_PERIOD = 2**62
COUNTED_KIND = "cash_count"


def ledger_key(collection_id: int) -> str:
    """The count's idempotency key in the ledger: one count per collection, ever."""
    return f"{COUNTED_KIND}:{collection_id}"


@dataclass(frozen=True, slots=True)
class Collected:
    """A ``cash_collected`` entry's body, checked."""

    device: str
    period: int
    counts: dict[int, int]
    total: int
    currency: str


@dataclass(frozen=True, slots=True)
class Count:
    """The back office's count: per denomination (``counts``) or only a total."""

    counts: dict[int, int] | None
    total: int


class AlreadyCounted(Refused):
    """The collection has its count; the first count stands and is handed back."""

    code = "already_counted"

    def __init__(self, collection: dict[str, Any]) -> None:
        counted, currency = collection["counted"], collection["currency"]
        posted = collection["transaction_id"]
        at = counted["at"][:19].replace("T", " ")
        super().__init__(
            f"cash collection {collection['id']} was counted by {counted['by']} at {at} UTC: "
            f"{Money(counted['total'], currency).format()}, "
            f"{in_words(collection['variance'], currency)}; a count stands"
            + (f" (posted as transaction {posted})" if posted else " (nothing to post)")
            + "; someone else corrects it with a recount (POST /v1/cash/collections/"
            f"{collection['id']}/recount, or prepaid central cash recount)",
        )
        self.collection = collection


def is_int(value: object) -> TypeGuard[int]:
    # JSON's true is an int to Python; a count of True pieces is a malformed entry.
    return isinstance(value, int) and not isinstance(value, bool)


def _counts(raw: object, *, code: str) -> dict[int, int]:
    if not isinstance(raw, Mapping):
        raise InvalidRequest(
            'counts are an object of denomination (minor units) -> pieces, e.g. {"10000": 3}',
            code=code,
        )
    if len(raw) > MAX_DENOMINATIONS:
        raise InvalidRequest(f"at most {MAX_DENOMINATIONS} denominations", code=code)
    out: dict[int, int] = {}
    for key, pieces in raw.items():
        if not isinstance(key, str) or not DENOMINATION.fullmatch(key):
            raise InvalidRequest(
                f"{key!r} is not a denomination: a positive whole number of minor units, "
                'e.g. "10000" for a 100.00 note',
                code=code,
            )
        if not is_int(pieces) or not 0 <= pieces <= MAX_PIECES:
            raise InvalidRequest(
                f"the count of denomination {key} must be a whole number of pieces from 0 "
                f"to {MAX_PIECES}, not {pieces!r}",
                code=code,
            )
        out[int(key)] = pieces
    if sum(d * n for d, n in out.items()) > MAX_AMOUNT:
        raise InvalidRequest(f"the counts add up to more than {MAX_AMOUNT}", code=code)
    return out


def wire_counts(counts: Mapping[int, int]) -> dict[str, int]:
    """Counts as the kiosk writes them: denomination strings, smallest first."""
    return {str(d): n for d, n in sorted(counts.items())}


def parse_collected(body: Mapping[str, Any], currency: str) -> Collected:
    """Check a ``cash_collected`` body; ``malformed_entry`` (or ``currency_mismatch``)."""

    def bad(message: str) -> InvalidRequest:
        return InvalidRequest(f"a cash collection entry {message}", code="malformed_entry")

    device, period = body.get("device"), body.get("period")
    if not isinstance(device, str) or not DEVICE.fullmatch(device):
        raise bad("names its device (bill_acceptor, coin_acceptor, ...)")
    if not is_int(period) or not 1 <= period <= MAX_PERIOD:
        raise bad(f"carries its period, a whole number from 1, not {period!r}")
    counts = _counts(body.get("counts"), code="malformed_entry")
    total, expected = body.get("total"), sum(d * n for d, n in counts.items())
    if not is_int(total) or total != expected:
        raise bad(f"total ({total!r}) must be the sum of its counts ({expected})")
    if body.get("currency") != currency:
        raise InvalidRequest(
            f"the cash box was counted in {body.get('currency')!r}; this estate keeps its "
            f"books in {currency}",
            code="currency_mismatch",
        )
    return Collected(device, period, counts, expected, currency)


def parse_count(*, counts: object | None = None, total: object | None = None) -> Count:
    """The office's count as given: exactly one of per denomination or a total."""
    if (counts is None) == (total is None):
        raise InvalidRequest(
            'give the count either per denomination ({"counts": {"10000": 3}}) or as a '
            'total in minor units ({"total": 30000}), not '
            + ("both" if counts is not None else "neither"),
            code="invalid_count",
        )
    if counts is not None:
        per = _counts(counts, code="invalid_count")
        return Count(per, sum(d * n for d, n in per.items()))
    if not is_int(total) or not 0 <= total <= MAX_AMOUNT:
        raise InvalidRequest(
            f"the counted total is a whole number of minor units from 0 to {MAX_AMOUNT}, "
            f"not {total!r}",
            code="invalid_count",
        )
    return Count(None, total)


def record_collection(
    conn: Connection,
    *,
    terminal_id: str,
    seq: int,
    body: Mapping[str, Any],
    collected_at: datetime,
    currency: str,
) -> int:
    """Record a ``cash_collected`` journal entry once; the collection's id.

    The entry that recorded it again finds its row. Another entry repeating a
    device's period is refused (``period_already_collected``). Inside the
    caller's transaction; the caller holds the savepoint."""
    found = conn.execute(
        select(cash_collections.c.id).where(
            cash_collections.c.terminal_id == terminal_id, cash_collections.c.seq == seq
        )
    ).first()
    if found is not None:
        return int(found.id)
    c = parse_collected(body, currency)
    clash = conn.execute(
        select(cash_collections.c.id, cash_collections.c.seq).where(
            cash_collections.c.terminal_id == terminal_id,
            cash_collections.c.device == c.device,
            cash_collections.c.period == c.period,
        )
    ).first()
    if clash is not None:
        raise Refused(
            f"{terminal_id}'s {c.device} period {c.period} was collected by journal entry "
            f"{clash.seq} (collection {clash.id}); entry {seq} names the same period",
            code="period_already_collected",
        )
    result = conn.execute(
        insert(cash_collections).values(
            terminal_id=terminal_id,
            device=c.device,
            period=c.period,
            counts=json.dumps(wire_counts(c.counts), separators=(",", ":")),
            expected_total=c.total,
            currency=c.currency,
            collected_at=collected_at,
            seq=seq,
            recorded_at=utcnow(),
            status="open",
        )
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def in_words(variance: int | None, currency: str) -> str:
    """``short by 20.00 CNY``, ``over by 5.00 CNY``, ``exact``; ``not counted yet``."""
    if variance is None:
        return "not counted yet"
    if variance == 0:
        return "exact"
    side = "short" if variance < 0 else "over"
    return f"{side} by {Money(abs(variance), currency).format()}"


def _result(variance: int | None) -> str | None:
    if variance is None:
        return None
    return "exact" if variance == 0 else "short" if variance < 0 else "over"


def _per(text: str | None) -> dict[int, int] | None:
    return None if text is None else {int(k): int(v) for k, v in json.loads(text).items()}


@dataclass(frozen=True, slots=True)
class InForce:
    """The count that stands: the first, or the latest recount's."""

    counts: dict[int, int] | None
    total: int
    by: str
    at: datetime
    recount: int  # 0 for the first count


def in_force(row: Any, recounts: Sequence[Any]) -> InForce:
    """The count in force of a counted collection, given its recounts in order."""
    if recounts:
        last = recounts[-1]
        return InForce(
            _per(last.counts),
            int(last.total),
            last.recounted_by,
            last.recounted_at,
            int(last.number),
        )
    return InForce(
        _per(row.counted_counts), int(row.counted_total), row.counted_by, row.counted_at, 0
    )


def _recount_view(r: Any) -> dict[str, Any]:
    before, after = _per(r.previous_counts), _per(r.counts)
    return {
        "number": int(r.number),
        "previous": {
            "counts": None if before is None else wire_counts(before),
            "total": int(r.previous_total),
        },
        "counted": {"counts": None if after is None else wire_counts(after), "total": int(r.total)},
        "change": int(r.total) - int(r.previous_total),
        "reason": r.reason,
        "by": r.recounted_by,
        "at": r.recounted_at.isoformat(),
        "transaction_id": r.transaction_id,
    }


def recounts_of(conn: Connection, ids: Iterable[int]) -> dict[int, list[Any]]:
    """Each collection's recounts, first to last."""
    wanted = list(ids)
    out: dict[int, list[Any]] = {i: [] for i in wanted}
    if not wanted:
        return out
    rows = conn.execute(
        select(cash_recounts)
        .where(cash_recounts.c.collection_id.in_(wanted))
        .order_by(cash_recounts.c.collection_id, cash_recounts.c.number)
    )
    for r in rows:
        out[int(r.collection_id)].append(r)
    return out


def view(row: Any, recounts: Sequence[Any] = ()) -> dict[str, Any]:
    """A collection as the API answers it; ``counted`` is the count in force."""
    expected = _per(row.counts) or {}
    counted: dict[str, Any] | None = None
    variance: int | None = None
    by_denomination: dict[str, int] | None = None
    if row.status == "counted":
        now = in_force(row, recounts)
        per = now.counts
        counted = {
            "counts": None if per is None else wire_counts(per),
            "total": now.total,
            "by": now.by,
            "at": now.at.isoformat(),
            "recount": now.recount or None,
        }
        variance = now.total - int(row.expected_total)
        if per is not None:
            by_denomination = {
                str(d): per.get(d, 0) - expected.get(d, 0)
                for d in sorted(set(per) | set(expected))
                if per.get(d, 0) != expected.get(d, 0)
            }
    return {
        "id": int(row.id),
        "terminal_id": row.terminal_id,
        "device": row.device,
        "period": int(row.period),
        "seq": int(row.seq),
        "currency": row.currency,
        "collected_at": row.collected_at.isoformat(),
        "status": row.status,
        "cash_box": cash_box_code(row.terminal_id),
        "expected": {"counts": wire_counts(expected), "total": int(row.expected_total)},
        "counted": counted,
        "variance": variance,
        "variance_by_denomination": by_denomination,
        "result": _result(variance),
        "variance_account": CASH_VARIANCE_CODE if variance else None,
        "transaction_id": row.transaction_id,
        "recounts": [_recount_view(r) for r in recounts],
    }


def collection_view(conn: Connection, row: Any) -> dict[str, Any]:
    return view(row, recounts_of(conn, [int(row.id)])[int(row.id)])


def collection_row(conn: Connection, collection_id: int, *, lock: bool = False) -> Any:
    query = select(cash_collections).where(cash_collections.c.id == collection_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(
            f"there is no cash collection {collection_id}; "
            "GET /v1/cash/collections (or prepaid central cash collections) lists them",
            code="unknown_collection",
        )
    return row


def get_collection(conn: Connection, collection_id: int) -> dict[str, Any]:
    return collection_view(conn, collection_row(conn, collection_id))


def list_collections(
    conn: Connection, *, terminal: str | None = None, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Collections, newest first; of one terminal, of one status."""
    if status is not None and status not in STATUSES:
        raise InvalidRequest(f"status is one of {', '.join(STATUSES)}", code="invalid_status")
    query = select(cash_collections).order_by(cash_collections.c.id.desc()).limit(limit)
    if terminal is not None:
        query = query.where(cash_collections.c.terminal_id == terminal)
    if status is not None:
        query = query.where(cash_collections.c.status == status)
    rows = conn.execute(query).all()
    recounts = recounts_of(conn, [int(r.id) for r in rows])
    return [view(row, recounts[int(row.id)]) for row in rows]


def count_collection(
    conn: Connection, ctx: Context, collection_id: int, count: Count
) -> dict[str, Any]:
    """Post the office's count of a collection; once (``already_counted`` after that)."""
    row = collection_row(conn, collection_id, lock=True)
    if row.status == "counted":
        raise AlreadyCounted(collection_view(conn, row))
    expected, counted = int(row.expected_total), count.total
    currency = row.currency

    moves = (
        (cash_box_code(row.terminal_id), "cash_box", expected),
        (BANK_CLEARING_CODE, "clearing", -counted),
        (CASH_VARIANCE_CODE, "variance", counted - expected),
    )
    legs = [
        Leg(acc.system_account(conn, code, kind=kind, currency=currency), amount)
        for code, kind, amount in moves
        if amount != 0  # a leg moves money: an exact count touches no variance account
    ]
    transaction_id: str | None = None
    if legs:
        transaction_id = post(
            conn,
            kind=COUNTED_KIND,
            idempotency_key=ledger_key(collection_id),
            legs=legs,
            created_at=ctx.now,
            actor=ctx.actor,
            method="cash",
            memo=(
                f"cash count of {row.terminal_id} {row.device} period {row.period}: "
                f"{in_words(counted - expected, currency)}"
            ),
        ).transaction_id
    done = conn.execute(
        update(cash_collections)
        .where(cash_collections.c.id == collection_id, cash_collections.c.status == "open")
        .values(
            status="counted",
            counted_counts=None
            if count.counts is None
            else json.dumps(wire_counts(count.counts), separators=(",", ":")),
            counted_total=counted,
            counted_by=ctx.actor,
            counted_at=ctx.now,
            transaction_id=transaction_id,
        )
    )
    if done.rowcount != 1:  # another transaction counted it meanwhile: theirs stands
        raise AlreadyCounted(collection_view(conn, collection_row(conn, collection_id)))
    return collection_view(conn, collection_row(conn, collection_id))
