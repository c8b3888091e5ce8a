"""``prepaid central fees ...`` and ``prepaid central fund ...``.

``fund verify`` needs no database: an owner runs it on a statement they
downloaded (and, to check nothing was removed or rewritten since, the one
before it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from central.db.database import Database


def add_parsers(sub: Any) -> None:
    fees = sub.add_parser("fees", help="property fees: billing runs and the daily job")
    fees_sub = fees.add_subparsers(dest="fees_action", required=True, metavar="STEP")
    run = fees_sub.add_parser("bill", help="bill every occupied unit for a period")
    run.add_argument("period", help="2026 (a year), 2026-Q1 (a quarter) or 2026-07 (a month)")
    fees_sub.add_parser(
        "daily", help="add late fees, collect due bills from wallets, queue reminders (cron)"
    )
    fund = sub.add_parser("fund", help="the maintenance fund's statements")
    fund_sub = fund.add_subparsers(dest="fund_action", required=True, metavar="STEP")
    verify = fund_sub.add_parser("verify", help="check a fund statement's hash chain")
    verify.add_argument("statement", type=Path, help="a statement (JSON) from the server")
    verify.add_argument(
        "--previous", type=Path, help="an earlier statement: check nothing was removed or rewritten"
    )
    show = fund_sub.add_parser("statement", help="print a building's fund statement (JSON)")
    show.add_argument("building", help="building code, e.g. A")


def fees_command(db: Database, args: argparse.Namespace) -> int:
    from central.db.types import utcnow
    from central.estate.settings import load
    from central.fees import arrears, billing
    from domain.money import Money

    now = utcnow()
    with db.write() as conn:
        estate = load(conn)
        if args.fees_action == "bill":
            result = billing.run_billing(
                conn,
                period=args.period,
                due_on=None,
                actor="cli:fees",
                now=now,
                zone=estate.zone,
                currency=estate.currency,
            )
            print(
                f"{result['period']}: {result['bills']} bills, "
                f"{Money(result['total'], estate.currency).format()}, due {result['due_on']} "
                f"({result['already_billed']} already billed, {result['unoccupied']} unoccupied)"
            )
            return 0
        done = arrears.daily(conn, estate, now)
    messages = sum(r["messages"] for r in done["reminders"])
    print(
        f"{done['day']}: {len(done['late_fees'])} late fees, {len(done['collected'])} "
        f"payments from wallets, {len(done['reminders'])} reminders ({messages} messages "
        "queued in the notification outbox)"
    )
    return 0


def fund_command(open_db: Any, args: argparse.Namespace) -> int:
    if args.fund_action == "verify":
        return verify(args.statement, args.previous)
    from central.db.types import utcnow
    from central.estate.settings import load
    from central.fees import fund

    db: Database = open_db()
    with db.read() as conn:
        estate = load(conn)
        doc = fund.statement(conn, building=args.building, currency=estate.currency, now=utcnow())
    print(json.dumps(doc, indent=2, ensure_ascii=False))
    return 0


def _load(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        print(f"cannot read {path}: {err}", file=sys.stderr)
        return None
    return doc if isinstance(doc, dict) else None


def verify(path: Path, previous_path: Path | None) -> int:
    from domain.fund_chain import verify as check

    statement = _load(path)
    previous = None if previous_path is None else _load(previous_path)
    if statement is None or (previous_path is not None and previous is None):
        return 2
    problems = check(statement, previous)
    for problem in problems:
        where = "" if problem.seq is None else f"entry {problem.seq}: "
        print(f"PROBLEM {where}{problem.detail}")
    if problems:
        print(f"{len(problems)} problem(s): this statement cannot be trusted", file=sys.stderr)
        return 1
    since = "" if previous is None else f", extending the earlier one ({previous['count']} entries)"
    print(
        f"ok: {statement['fund']}: {statement['count']} entries, head {statement['head'][:16]}…, "
        f"balance {statement['balance']} {statement['currency']}{since}"
    )
    return 0
