"""``prepaid central meters ...``: the demo's meters, a look at supply, the held readings."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from central.db.database import Database
from central.metering import demo, supply
from central.metering.tables import meters, readings


def add_parsers(sub: Any) -> None:
    m = sub.add_parser("meters", help="metering: demo meters, supply state, held readings")
    m_sub = m.add_subparsers(dest="meters_action", required=True, metavar="STEP")
    seed = m_sub.add_parser("seed-demo", help="demo tariffs and three meters for every unit")
    seed.add_argument("--transport", choices=["http", "mqtt"], default="http")
    m_sub.add_parser("pending", help="cut-offs, limits and restores not yet done, and when")
    m_sub.add_parser("held", help="readings held for a manager's review")


def command(open_db: Callable[[], Database], args: argparse.Namespace) -> int:
    db = open_db()
    now = datetime.now(UTC)
    if args.meters_action == "seed-demo":
        with db.write() as conn:
            count = demo.seed(conn, installed_at=now - timedelta(hours=1), transport=args.transport)
        print(
            f"{count} meters registered ({args.transport}); tariffs: "
            + ", ".join(t.code for t in demo.TARIFFS)
        )
        return 0
    with db.read() as conn:
        if args.meters_action == "pending":
            rows: list[dict[str, Any]] = list(supply.pending_summary(conn, now))
        else:
            rows = [
                {
                    "id": r.id,
                    "meter": r.serial,
                    "taken_at": r.taken_at.isoformat(),
                    "value": r.value,
                    "reason": r.reason,
                }
                for r in conn.execute(
                    select(
                        readings.c.id,
                        meters.c.serial,
                        readings.c.taken_at,
                        readings.c.value,
                        readings.c.reason,
                    )
                    .join(meters, meters.c.id == readings.c.meter_id)
                    .where(readings.c.status == "held")
                )
            ]
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
    return 0
