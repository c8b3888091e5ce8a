"""Ledger benchmark: single top-up latency and batched throughput.

Measured like production: ``prepaid central serve`` (uvicorn) in its own
process on a loopback socket, this process as the client, bearer-token
authentication and every check on, SQLite on disk with synchronous commits.

    .venv/bin/python bench/ledger.py [--requests 2000] [--batches 5] [--batch-size 10000]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Client, central_server, median, percentile  # noqa: E402

PASSWORD = "bench password 1"


def prepare(url: str, units: int) -> list[str]:
    from central.auth.principal import Role
    from central.auth.staff import create_staff
    from central.db.database import Database
    from central.estate import registry
    from central.estate.settings import Estate, create

    db = Database.open(url)
    codes = []
    with db.write() as conn:
        create(conn, Estate("Bench", "Bench Ltd", "", "", "CNY", "Asia/Shanghai", "en", 2000))
        create_staff(conn, username="bench", password=PASSWORD, role=Role.MANAGER)
        registry.add_site(conn, code="s", name="S")
        registry.add_building(conn, site="s", code="A", name="A", floors=50)
        for i in range(units):
            codes.append(
                registry.add_unit(
                    conn, building="A", number=f"{i:04d}", floor=1 + i % 50, area_m2=Decimal(90)
                )
            )
    db.close()
    return codes


def raw_sqlite_baseline(path: Path, n: int = 20000) -> float:
    """Two-posting transactions/s with bare sqlite3 in one transaction: the floor's ceiling."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE t (id TEXT PRIMARY KEY, k TEXT UNIQUE)")
    con.execute("CREATE TABLE p (id INTEGER PRIMARY KEY, t TEXT, a INTEGER, amount INTEGER)")
    start = time.perf_counter()
    con.execute("BEGIN")
    for i in range(n):
        con.execute("INSERT INTO t VALUES (?, ?)", (f"t{i}", f"k{i}"))
        con.executemany(
            "INSERT INTO p (t, a, amount) VALUES (?, ?, ?)", [(f"t{i}", 1, -5), (f"t{i}", 2, 5)]
        )
    con.execute("COMMIT")
    elapsed = time.perf_counter() - start
    con.close()
    return n / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=10000)
    parser.add_argument("--database-url", help="default: SQLite in a temporary directory on disk")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="prepaid-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'ledger.sqlite3'}"
    print(f"database: {url.split('@')[-1]}")
    units = prepare(url, 48)
    with central_server(url) as port:
        client = Client(port)
        status, body = client.call(
            "POST", "/v1/auth/token", {"username": "bench", "password": PASSWORD}
        )
        assert status == 200, body
        client = Client(port, body["access_token"])

        def top_up(i: int) -> float:
            body = {
                "unit": units[i % len(units)],
                "wallet": "electricity",
                "amount": 100 + i % 900,
                "currency": "CNY",
                "method": "cash",
                "source": "kiosk-bench",
            }
            start = time.perf_counter()
            status, answer = client.call(
                "POST", "/v1/ledger/top-ups", body, {"Idempotency-Key": f"single-{i}"}
            )
            elapsed = time.perf_counter() - start
            assert status == 201, answer
            return elapsed * 1000

        for i in range(200):  # warm-up: connection, caches, the first pages of the B-trees
            top_up(-1 - i)
        print(
            f"single top-up: {args.requests} sequential requests, one keep-alive connection ...",
            flush=True,
        )
        latencies = [top_up(i) for i in range(args.requests)]
        p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
        print(f"  p50 {p50:.2f} ms   p99 {p99:.2f} ms   (max {max(latencies):.2f} ms)")

        rates = []
        for b in range(args.batches):
            entries = []
            for i in range(args.batch_size):
                unit = units[(i // 2) % len(units)]  # a top-up, then a charge on the same unit
                if i % 2 == 0:
                    entries.append(
                        {
                            "key": f"batch-{b}-{i}",
                            "operation": "top_up",
                            "body": {
                                "unit": unit,
                                "wallet": "services",
                                "amount": 500,
                                "currency": "CNY",
                                "method": "cash",
                                "source": "kiosk-bench",
                            },
                        }
                    )
                else:
                    entries.append(
                        {
                            "key": f"batch-{b}-{i}",
                            "operation": "charge",
                            "body": {
                                "unit": unit,
                                "wallet": "services",
                                "amount": 300,
                                "currency": "CNY",
                                "service": "gym",
                            },
                        }
                    )
            start = time.perf_counter()
            status, answer = client.call("POST", "/v1/ledger/batch", {"entries": entries})
            elapsed = time.perf_counter() - start
            assert status == 200, answer
            assert answer["applied"] == args.batch_size, answer["rejected"]
            rates.append(args.batch_size / elapsed)
            print(
                f"  batch {b + 1}/{args.batches}: {args.batch_size} transactions in {elapsed:.2f} s",
                flush=True,
            )
        status, report = client.call("GET", "/v1/ledger/check")
        assert report["ok"], report
        client.close()

    baseline = raw_sqlite_baseline(tmp / "raw.sqlite3")
    rate = median(rates)
    print()
    print("| figure | value |")
    print("|---|---|")
    print(f"| single top-up p50 | {p50:.2f} ms |")
    print(f"| single top-up p99 | {p99:.2f} ms |")
    print(
        f"| batched, {args.batch_size} per request (median of {args.batches}) | {rate:,.0f} transactions/s |"
    )
    print(
        f"| raw sqlite3, two-posting transactions in one commit (same disk) | {baseline:,.0f} transactions/s |"
    )
    print(f"| batched / raw sqlite3 | {rate / baseline:.2f} |")
    print(
        "\nmeasured: server = `prepaid central serve` (uvicorn) in its own process; client = this "
        "process over loopback HTTP/1.1 keep-alive; bearer token checked on every request; "
        "SQLite WAL with synchronous=FULL on disk; ledger check passed afterwards."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
