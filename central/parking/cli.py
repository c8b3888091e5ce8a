"""``prepaid central parking ...``: the renewal job (run it daily, from cron or a timer),
and the cases a rule sent to a manager."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from central.db.database import Database
from central.estate import settings as estate_settings
from central.parking import renewal, review_cases


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("parking", help="parking: the pass renewal job, cases for review")
    p_sub = p.add_subparsers(dest="parking_action", required=True, metavar="STEP")
    renew = p_sub.add_parser(
        "renew", help="remind, renew or report every self-renewing pass that is due"
    )
    renew.add_argument(
        "--at", type=datetime.fromisoformat, help="as if now were this moment (ISO, with a zone)"
    )
    p_sub.add_parser("reviews", help="open cases: exits without entry, cars already inside, ...")


def command(open_db: Callable[[], Database], args: argparse.Namespace) -> int:
    db = open_db()
    if args.parking_action == "renew":
        now = args.at or datetime.now(UTC)
        if now.tzinfo is None:
            print("--at needs a zone, e.g. 2026-11-25T09:00:00+08:00")
            return 2
        with db.read() as conn:
            estate = estate_settings.load(conn)
        report = renewal.run_renewals(db, estate, now=now)
        print(json.dumps(report.as_dict()))
        return 0
    with db.read() as conn:
        for case in review_cases.open_reviews(conn):
            print(json.dumps(case, ensure_ascii=False))
    return 0
