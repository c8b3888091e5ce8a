"""Posting a settlement file: the provider's fees and its payout to the bank, once per file.

The provider pays the day's net (payments less refunds less its fees) into the
estate's bank account, so the clearing account is credited twice, both balanced
and keyed by the file's id:

- fee: ``clearing:<provider>`` +fee, ``expense:provider_fees:<provider>`` -fee
  (key ``settlement:<id>:fee``);
- payout: ``clearing:<provider>`` +net, ``clearing:bank`` -net (the bank account
  the fund's invoices are paid from; key ``settlement:<id>:payout``).

When every line matched, that brings the day's movements on the clearing account
back to zero; what is left there is exactly the differences the reconciliation
reported. The file is recorded with its lines and the reconciliation as posted;
the same file again answers the first posting, another file under the same id
is refused.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, insert, select

from central.db.schema import accounts
from central.errors import InvalidRequest, Refused
from central.ledger import accounts as acc
from central.ledger.plans import Context
from central.ledger.posting import Leg, post
from central.payments.reconcile import reconcile
from central.payments.tables import provider_settlement_lines, provider_settlements
from domain.settlement_file import SettlementFile
from domain.wallets import BANK_CLEARING_CODE, clearing_code


def fee_account_code(provider: str) -> str:
    return f"expense:provider_fees:{provider}"


def _posted(row: Any) -> dict[str, Any]:
    return {
        "settlement_id": row.settlement_id,
        "provider": row.provider,
        "day": row.day,
        "gross": row.gross,
        "fee": row.fee,
        "net": row.net,
        "fee_transaction_id": row.fee_transaction_id,
        "payout_transaction_id": row.payout_transaction_id,
        "posted_by": row.actor,
        "posted_at": row.created_at.isoformat(),
    }


def post_settlement(
    conn: Connection, ctx: Context, *, provider: str, file: SettlementFile
) -> dict[str, Any]:
    """Reconcile ``file`` and post its fee and payout; once per settlement id."""
    if len(file.settlement_id) > 96 or not file.settlement_id.isprintable():
        raise InvalidRequest(
            "the file's settlement id is not an id (at most 96 printable characters)",
            code="settlement_file_invalid",
        )
    if file.currency != ctx.estate.currency:
        raise InvalidRequest(
            f"the settlement is in {file.currency}, this estate keeps its books in "
            f"{ctx.estate.currency}: is it another merchant's file?",
            code="currency_mismatch",
        )
    earlier = conn.execute(
        select(provider_settlements).where(
            provider_settlements.c.settlement_id == file.settlement_id
        )
    ).first()
    if earlier is not None:
        if earlier.digest != file.digest:
            raise Refused(
                f"settlement {file.settlement_id} was posted on "
                f"{earlier.created_at.isoformat(timespec='seconds')} from another file "
                f"(SHA-256 {earlier.digest[:12]}…): a posted settlement stands; a provider's "
                "correction comes as a file of its own",
                code="settlement_changed",
            )
        return {**_posted(earlier), "already_posted": True, "report": json.loads(earlier.report)}
    report = reconcile(conn, estate=ctx.estate, provider=provider, file=file)
    currency = ctx.estate.currency
    clearing = acc.system_account(conn, clearing_code(provider), kind="clearing", currency=currency)

    def posting(kind: str, other: acc.Account, amount: int) -> str | None:
        if amount == 0:
            return None  # a posting moves money; a day with no fee posts no fee
        return post(
            conn,
            kind=kind,
            idempotency_key=f"settlement:{file.settlement_id}:{kind.removeprefix('provider_')}",
            legs=[Leg(clearing, amount), Leg(other, -amount)],
            created_at=ctx.now,
            actor=ctx.actor,
            method="provider",
            memo=f"{provider} settlement {file.settlement_id} of {file.day.isoformat()}",
        ).transaction_id

    fees = acc.system_account(conn, fee_account_code(provider), kind="expense", currency=currency)
    bank = acc.system_account(conn, BANK_CLEARING_CODE, kind="clearing", currency=currency)
    row = {
        "settlement_id": file.settlement_id,
        "provider": provider,
        "day": file.day.isoformat(),
        "digest": file.digest,
        "gross": file.gross,
        "fee": file.fee,
        "net": file.net,
        "fee_transaction_id": posting("provider_fee", fees, file.fee),
        "payout_transaction_id": posting("provider_payout", bank, file.net),
        "report": json.dumps(report, separators=(",", ":"), sort_keys=True),
        "actor": ctx.actor,
        "created_at": ctx.now,
    }
    conn.execute(insert(provider_settlements).values(**row))
    if report["lines"]:
        conn.execute(
            insert(provider_settlement_lines),
            [
                {
                    "settlement_id": file.settlement_id,
                    "line": ln["line"],
                    "type": ln["type"],
                    "reference": ln["reference"],
                    "gross": ln["gross"],
                    "transaction_id": ln["transaction_id"],
                    "status": ln["status"],
                }
                for ln in report["lines"]
            ],
        )
    stored = conn.execute(
        select(provider_settlements).where(
            provider_settlements.c.settlement_id == file.settlement_id
        )
    ).one()
    return {
        **_posted(stored),
        "already_posted": False,
        "clearing_balance": _balance(conn, clearing.id),
        "report": report,
    }


def _balance(conn: Connection, account_id: int) -> int:
    return int(
        conn.execute(select(accounts.c.balance).where(accounts.c.id == account_id)).scalar_one()
    )
