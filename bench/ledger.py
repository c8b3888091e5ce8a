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

from bench.harness import Client, central_server, median, percentile

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


def measure(url: str, *, requests: int, batches: int, batch_size: int) -> dict[str, float]:
    """The server on ``url`` in its own process; this process as the client."""
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
        print(f"  single top-up: {requests} sequential requests ...", flush=True)
        latencies = [top_up(i) for i in range(requests)]
        rates = []
        for b in range(batches):
            entries = []
            for i in range(batch_size):
                unit = units[(i // 2) % len(units)]  # a top-up, then a charge on the same unit
                if i % 2 == 0:
                    operation, body = (
                        "top_up",
                        {
                            "unit": unit,
                            "wallet": "services",
                            "amount": 500,
                            "currency": "CNY",
                            "method": "cash",
                            "source": "kiosk-bench",
                        },
                    )
                else:
                    operation, body = (
                        "charge",
                        {
                            "unit": unit,
                            "wallet": "services",
                            "amount": 300,
                            "currency": "CNY",
                            "service": "gym",
                        },
                    )
                entries.append({"key": f"batch-{b}-{i}", "operation": operation, "body": body})
            start = time.perf_counter()
            status, answer = client.call("POST", "/v1/ledger/batch", {"entries": entries})
            elapsed = time.perf_counter() - start
            assert status == 200, answer
            assert answer["applied"] == batch_size, answer["rejected"]
            rates.append(batch_size / elapsed)
            print(
                f"  batch {b + 1}/{batches}: {batch_size} transactions in {elapsed:.2f} s",
                flush=True,
            )
        status, report = client.call("GET", "/v1/ledger/check")
        assert report["ok"], report
        client.close()
    return {
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "batched": median(rates),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=10000)
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL column")
    args = parser.parse_args()
    shape = {"requests": args.requests, "batches": args.batches, "batch_size": args.batch_size}

    tmp = Path(tempfile.mkdtemp(prefix="prepaid-bench-"))
    columns: dict[str, dict[str, float]] = {}
    print("SQLite (WAL, synchronous=FULL, on disk):", flush=True)
    columns["SQLite"] = measure(f"sqlite:///{tmp / 'ledger.sqlite3'}", **shape)
    if not args.no_postgres:
        from tests import pg_server

        print("PostgreSQL (a server started for the run, fsync on, on disk):", flush=True)
        server = pg_server.start(durable=True)
        try:
            url = pg_server.create_database(server, "bench")
            columns["PostgreSQL"] = measure(url, **shape)
        finally:
            server.stop()
    baseline = raw_sqlite_baseline(tmp / "raw.sqlite3")

    names = list(columns)
    print()
    print("| figure | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    print(
        "| single top-up p50 | " + " | ".join(f"{columns[n]['p50']:.2f} ms" for n in names) + " |"
    )
    print(
        "| single top-up p99 | " + " | ".join(f"{columns[n]['p99']:.2f} ms" for n in names) + " |"
    )
    print(
        f"| batched, {args.batch_size} per request, median of {args.batches} | "
        + " | ".join(f"{columns[n]['batched']:,.0f} tx/s" for n in names)
        + " |"
    )
    print(
        f"\nraw sqlite3 on the same disk, two-posting transactions in one commit: "
        f"{baseline:,.0f} tx/s "
        f"(batched SQLite is {columns['SQLite']['batched'] / baseline:.2f} of it)"
    )
    print(
        "measured: server = `prepaid central serve` (uvicorn) in its own process; client = "
        "this process over loopback HTTP/1.1 keep-alive; bearer token checked on every "
        "request; the ledger check passed after each run."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
