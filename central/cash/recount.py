"""Correcting a cash count: a recount by a second person, appended beside the count.

A count is never edited. When the office finds it was wrong (a note stuck in the
cassette, a bundle counted twice, the bank's deposit slip says otherwise), someone
other than whoever made the count in force enters the recount with a reason. The
difference D (new total - total in force) moves in one transaction keyed
``cash_recount:<collection>:<number>``:

- ``clearing:bank`` -D (the deposit is D more, or less);
- ``variance:cash`` +D (the variance is recomputed against the kiosk's count).

``cash_box:<kiosk>`` is not touched: the count already relieved it of exactly the
kiosk's count. A recount that changes only the denominations, not the total, is
recorded and moves no money.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from sqlalchemy import Connection, insert

from central.cash.service import (
    Count,
    collection_row,
    collection_view,
    in_force,
    in_words,
    recounts_of,
    wire_counts,
)
from central.cash.tables import cash_recounts
from central.errors import InvalidRequest, Refused
from central.ledger import accounts as acc
from central.ledger.plans import Context
from central.ledger.posting import Leg, post
from domain.money import Money
from domain.wallets import BANK_CLEARING_CODE, CASH_VARIANCE_CODE

RECOUNT_KIND = "cash_recount"
MAX_REASON = 200


def ledger_key(collection_id: int, number: int) -> str:
    """The recount's idempotency key in the ledger: one transaction per recount."""
    return f"{RECOUNT_KIND}:{collection_id}:{number}"


class NotCounted(Refused):
    """Only a count can be corrected: an open collection takes its first count."""

    code = "not_counted"


class SecondPersonRequired(Refused):
    """Whoever made the count in force cannot correct it."""

    code = "second_person_required"


class CountUnchanged(Refused):
    """The recount is the count in force (its total, and its denominations if given)."""

    code = "count_unchanged"


def _pieces(counts: dict[int, int] | None) -> dict[int, int]:
    return {d: n for d, n in (counts or {}).items() if n}


def parse_reason(text: object) -> str:
    """Why the count is corrected: one line of 3 to 200 characters."""
    reason = text.strip() if isinstance(text, str) else ""
    if len(reason) < 3 or len(reason) > MAX_REASON:
        raise InvalidRequest(
            f"a recount needs its reason, 3 to {MAX_REASON} characters (what was found: "
            '"a 100 note was stuck in the cassette", "bank deposit slip 0412")',
            code="invalid_reason",
        )
    if any(unicodedata.category(ch).startswith("C") for ch in reason):
        raise InvalidRequest(
            "the reason is one line of text, without control characters", code="invalid_reason"
        )
    return reason


def recount_collection(
    conn: Connection, ctx: Context, collection_id: int, count: Count, reason: str
) -> dict[str, Any]:
    """Append a recount of a counted collection and post its difference; the collection."""
    row = collection_row(conn, collection_id, lock=True)
    currency = row.currency
    if row.status != "counted":
        raise NotCounted(
            f"cash collection {collection_id} has not been counted yet: enter its count "
            f"(POST /v1/cash/collections/{collection_id}/count, or prepaid central cash count)"
        )
    recounts = recounts_of(conn, [collection_id])[collection_id]
    now = in_force(row, recounts)
    if now.by == ctx.actor:
        raise SecondPersonRequired(
            f"{ctx.actor} made the count in force of cash collection {collection_id}; "
            "a correction is made by someone else (a second manager recounts the notes)"
        )
    if count.total == now.total and (
        count.counts is None or _pieces(count.counts) == _pieces(now.counts)
    ):
        raise CountUnchanged(
            f"the recount of cash collection {collection_id} is the count in force "
            f"({Money(now.total, currency).format()}); there is nothing to correct"
        )
    number = now.recount + 1
    change = count.total - now.total
    expected = int(row.expected_total)
    transaction_id: str | None = None
    if change != 0:
        before, after = Money(now.total, currency).format(), Money(count.total, currency).format()
        legs = [
            Leg(
                acc.system_account(conn, BANK_CLEARING_CODE, kind="clearing", currency=currency),
                -change,
            ),
            Leg(
                acc.system_account(conn, CASH_VARIANCE_CODE, kind="variance", currency=currency),
                change,
            ),
        ]
        transaction_id = post(
            conn,
            kind=RECOUNT_KIND,
            idempotency_key=ledger_key(collection_id, number),
            legs=legs,
            created_at=ctx.now,
            actor=ctx.actor,
            method="cash",
            memo=(
                f"recount {number} of {row.terminal_id} {row.device} period {row.period}: "
                f"{before} -> {after}, now {in_words(count.total - expected, currency)}"
            ),
        ).transaction_id

    def encoded(counts: dict[int, int] | None) -> str | None:
        return None if counts is None else json.dumps(wire_counts(counts), separators=(",", ":"))

    conn.execute(
        insert(cash_recounts).values(
            collection_id=collection_id,
            number=number,
            previous_counts=encoded(now.counts),
            previous_total=now.total,
            counts=encoded(count.counts),
            total=count.total,
            reason=reason,
            recounted_by=ctx.actor,
            recounted_at=ctx.now,
            transaction_id=transaction_id,
        )
    )
    return collection_view(conn, row)
