"""``prepaid central payments reconcile``: a day's settlement file against the clearing
account, and on ``--post`` the provider's fee and payout (run it daily, from cron).

Exit status: 0 reconciled, 3 differences found (each printed with what to do),
1 refused (a file that does not verify, a provider that does not answer).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from central.db.database import Database
from central.db.types import utcnow
from central.estate import settings as estate_settings
from central.ledger.plans import Context
from central.payments import files
from central.payments.provider import ProviderApi
from central.payments.reconcile import reconcile
from central.payments.settle import post_settlement
from domain.money import Money
from domain.settlement_file import SettlementFile

DIFFERENCES = 3


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("payments", help="the payment provider: the daily settlement")
    p_sub = p.add_subparsers(dest="payments_action", required=True, metavar="STEP")
    rec = p_sub.add_parser(
        "reconcile", help="a day's settlement file against the provider's clearing account"
    )
    rec.add_argument("--date", type=date.fromisoformat, required=True, help="the day, YYYY-MM-DD")
    source = rec.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", type=Path, help="the settlement file, as the provider signed it")
    source.add_argument(
        "--fetch", action="store_true", help="fetch it from PREPAID_PROVIDER_URL (signed)"
    )
    rec.add_argument(
        "--post", action="store_true", help="post the fee and the payout (once per file id)"
    )
    rec.add_argument("--json", action="store_true", help="the whole report as JSON")


def _load(args: argparse.Namespace) -> tuple[str, SettlementFile]:
    if args.fetch:
        provider = ProviderApi.from_env()
        return provider.name, files.fetch(provider, args.date)
    name = ProviderApi.name_from_env()
    return name, files.read(args.file, ProviderApi.secret_from_env(), args.date)


def _print(report: dict[str, Any], currency: str) -> None:
    def fmt(minor: int) -> str:
        return Money(minor, currency).format()

    counts = {k: v for k, v in report["counts"].items() if v}
    said = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()) or "no lines"
    print(f"{report['settlement_id']} ({report['provider']}, {report['day']}): {said}")
    c = report["clearing"]
    print(
        f"{c['account']}: the ledger expects {fmt(c['expected'])}, the provider settled "
        f"{fmt(c['settled'])} (difference {fmt(c['difference'])}); fee {fmt(c['fee'])}, "
        f"net {fmt(c['net'])}"
    )
    for ln in report["lines"]:
        if ln["status"] != "matched":
            print(
                f"  line {ln['line']} {ln['type']} {ln['reference']} {fmt(ln['gross'])}: "
                f"{ln['status']}: {ln['explanation']}"
            )
    for m in report["ledger_only"]:
        print(
            f"  ledger {m['transaction_id']} {m['kind']} {m['reference'] or '-'} "
            f"{fmt(m['gross'])}: {m['status']}: {m['explanation']}"
        )


def command(open_db: Callable[[], Database], args: argparse.Namespace) -> int:
    provider, file = _load(args)
    db = open_db()
    if args.post:
        with db.write() as conn:
            estate = estate_settings.load(conn)
            ctx = Context(
                estate=estate,
                idempotency_key=f"settlement:{file.settlement_id}",
                actor="cli:payments",
                now=utcnow(),
            )
            posted = post_settlement(conn, ctx, provider=provider, file=file)
        report = posted["report"]
    else:
        with db.read() as conn:
            estate = estate_settings.load(conn)
            report = reconcile(conn, estate=estate, provider=provider, file=file)
    if args.json:
        print(json.dumps(posted if args.post else report, ensure_ascii=False, sort_keys=True))
    else:
        _print(report, estate.currency)
        if args.post:
            when = "posted before" if posted["already_posted"] else "posted"
            print(
                f"{when}: fee {Money(posted['fee'], estate.currency).format()} "
                f"(transaction {posted['fee_transaction_id'] or '-'}), payout "
                f"{Money(posted['net'], estate.currency).format()} to clearing:bank "
                f"(transaction {posted['payout_transaction_id'] or '-'})"
            )
    return 0 if report["reconciled"] else DIFFERENCES
