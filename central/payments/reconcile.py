"""A provider's settlement file against the ledger's clearing account, line by line.

Each line of the file is matched to the ledger transaction with the same reference
(a payment's order id, a refund's refund id), looked for from the day before the
file's day to the day after, because a payment made just before midnight can
reach the ledger just after it. Every difference is reported with what to do:

- ``missing_in_ledger``: the provider settled it, the ledger has nothing by that
  reference (a kiosk that never heard the callback; a refund whose answer was lost);
- ``amount_mismatch``: both have it, with different amounts;
- ``missing_in_settlement``: a movement of the ledger's day that no line names,
  nor any settlement posted before (a refund or top-up posted by hand, which the
  provider never saw);
- ``settled_twice``: a line whose transaction an earlier posted file settled already.

The clearing figures compare what the ledger says the provider owes for the day
(``expected``) with what the file settles (``settled``). Read-only: posting the
fees and the payout is :mod:`central.payments.settle`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, select

from central.db.schema import accounts
from central.estate.settings import Estate
from central.journal.reconcile import day_bounds
from central.ledger import accounts as acc
from central.payments.clearing import CHUNK, Movement, movements
from central.payments.tables import provider_settlement_lines
from domain.settlement_file import Line, SettlementFile
from domain.wallets import clearing_code

STATUSES = (
    "matched",
    "amount_mismatch",
    "missing_in_ledger",
    "missing_in_settlement",
    "settled_elsewhere",
    "settled_twice",
)


def _missing_in_ledger(line: Line) -> str:
    if line.type == "payment":
        return (
            f"the provider settled order {line.order_id} but no ledger top-up names it: the "
            "kiosk never credited it (its callback lost?): credit it from the kiosk's journal, "
            "or refund the resident through the provider"
        )
    return (
        f"the provider made refund {line.refund_id} but the ledger has not posted it (its "
        "answer lost?): send POST /v1/payments/refunds again with this refund_id; the "
        "provider answers its first result and the ledger posts it once"
    )


def _missing_in_settlement(m: Movement) -> str:
    if m.reference is None:
        return (
            f"a {m.kind} posted to the clearing account without a provider order or refund "
            "(by hand?): the provider never saw it; if it was a mistake, reverse it"
        )
    return (
        f"the ledger has {m.type} {m.reference} but the provider settled none: look in the "
        "neighbouring day's file, else ask the provider"
    )


def _line_report(
    line: Line, found: Movement | None, day: Any, earlier: dict[str, str]
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "line": line.number,
        "type": line.type,
        "reference": line.reference,
        "order_id": line.order_id,
        "gross": line.gross,
        "fee": line.fee,
        "net": line.net,
        "transaction_id": None if found is None else found.transaction_id,
    }
    if found is None:
        return {**out, "status": "missing_in_ledger", "explanation": _missing_in_ledger(line)}
    if found.gross != line.gross:
        return {
            **out,
            "status": "amount_mismatch",
            "ledger_gross": found.gross,
            "explanation": f"the ledger has {found.gross}, the provider settled {line.gross}: "
            "find out which is right; correct the ledger by a reversal and a new posting",
        }
    if found.transaction_id in earlier:
        return {
            **out,
            "status": "settled_twice",
            "explanation": f"{earlier[found.transaction_id]} settled this already: the "
            "provider paid it out twice; ask the provider to correct its file",
        }
    if found.day != day:
        out["ledger_day"] = found.day.isoformat()
    return {**out, "status": "matched"}


def _settled_before(conn: Connection, ids: list[str], settlement_id: str) -> dict[str, str]:
    """transaction id -> the posted settlement (other than this one) that matched it."""
    found: dict[str, str] = {}
    for i in range(0, len(ids), CHUNK):
        rows = conn.execute(
            select(
                provider_settlement_lines.c.transaction_id,
                provider_settlement_lines.c.settlement_id,
            ).where(
                provider_settlement_lines.c.transaction_id.in_(ids[i : i + CHUNK]),
                provider_settlement_lines.c.settlement_id != settlement_id,
            )
        )
        found.update({str(r.transaction_id): str(r.settlement_id) for r in rows})
    return found


def reconcile(
    conn: Connection, *, estate: Estate, provider: str, file: SettlementFile
) -> dict[str, Any]:
    start, end = day_bounds(file.day, estate)
    window = movements(
        conn,
        provider=provider,
        start=start - timedelta(days=1),
        end=end + timedelta(days=1),
        zone=estate.zone,
    )
    by_reference = {(m.type, m.reference): m for m in window if m.reference is not None}
    elsewhere = _settled_before(conn, [m.transaction_id for m in window], file.settlement_id)
    lines = [
        _line_report(ln, by_reference.get((ln.type, ln.reference)), file.day, elsewhere)
        for ln in file.lines
    ]
    claimed = {ln["transaction_id"] for ln in lines if ln["transaction_id"]}
    of_day = [m for m in window if m.day == file.day]
    unclaimed = [m for m in of_day if m.transaction_id not in claimed]
    ledger_only = []
    for m in unclaimed:
        if m.transaction_id in elsewhere:
            status, why = "settled_elsewhere", f"settled by {elsewhere[m.transaction_id]}"
        else:
            status, why = "missing_in_settlement", _missing_in_settlement(m)
        ledger_only.append({**m.as_dict(), "status": status, "explanation": why})
    counts = {s: 0 for s in STATUSES}
    for item in [*lines, *ledger_only]:
        counts[item["status"]] += 1
    expected = sum(m.gross for m in of_day)
    clearing = acc.by_code(conn, clearing_code(provider))
    differences = sum(counts[s] for s in STATUSES if s not in ("matched", "settled_elsewhere"))
    return {
        "settlement_id": file.settlement_id,
        "provider": provider,
        "merchant": file.merchant,
        "day": file.day.isoformat(),
        "timezone": {"file": file.timezone, "ledger": estate.timezone},
        "currency": file.currency,
        "digest": file.digest,
        "counts": counts,
        "reconciled": differences == 0 and expected == file.gross,
        "clearing": {
            "account": clearing_code(provider),
            "expected": expected,  # what the ledger says the provider owes for the day
            "settled": file.gross,
            "difference": file.gross - expected,
            "fee": file.fee,
            "net": file.net,
            "balance": _balance(conn, clearing),
        },
        "lines": lines,
        "ledger_only": ledger_only,
    }


def _balance(conn: Connection, account: acc.Account | None) -> int:
    if account is None:
        return 0
    return int(
        conn.execute(select(accounts.c.balance).where(accounts.c.id == account.id)).scalar_one()
    )
