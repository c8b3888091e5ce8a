"""Journal benchmark: append latency with synchronous commit; sync of a backlog.

1. Append: every entry of a terminal's journal is committed with
   ``synchronous=FULL`` (the WAL fsynced) and signed; the latency of each append
   is measured, p50 and p99, on the disk that holds ``--dir``.
2. Sync: the same journal's backlog (``--entries``, 20,000 by default: a busy
   kiosk's weeks offline) is uploaded by the sync client (requests, signed
   requests) to ``prepaid central serve`` on SQLite, in its own process, over a
   loopback socket; entries per second from the first request to the last answer.

    .venv/bin/python bench/journal.py [--entries 20000] [--batch 1000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import central_server, median, percentile


def disk_of(path: Path) -> str:
    """The device, filesystem and, where lsblk knows it, the disk model behind ``path``."""
    try:
        out = (
            subprocess.run(
                ["df", "--output=source,fstype", str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.split("\n")[1]
            .split()
        )
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "unknown"
    source, fstype = out[0], out[1]
    detail = ""
    try:
        lsblk = subprocess.run(
            ["lsblk", "-dno", "NAME,MODEL,ROTA,SIZE"], capture_output=True, text=True, check=True
        ).stdout.strip()
        detail = "; disks: " + " | ".join(line.split(None, 1)[-1] for line in lsblk.splitlines())
    except (OSError, subprocess.CalledProcessError):
        pass
    return f"{source} ({fstype}){detail}"


def fsync_latency(directory: Path, n: int = 1000) -> list[float]:
    """The disk's own floor: a small write and an fsync, ``n`` times (ms)."""
    path = directory / "fsync.probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    out = []
    try:
        for _ in range(n):
            started = time.perf_counter()
            os.write(fd, b"x" * 200)
            os.fsync(fd)
            out.append((time.perf_counter() - started) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    return out


def children_cpu_s() -> float:
    """CPU seconds (user + system) used so far by this process's children (the server)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        try:
            pids = (task / "children").read_text().split()
        except OSError:
            continue
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def prepare(url: str) -> tuple[bytes, str]:
    """A bench estate and one enrolled kiosk: its raw private key and id."""
    from central.db.database import Database
    from central.terminals import enrolment
    from domain import signing
    from offline_queue.identity import Identity

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench.ledger import prepare as prepare_estate

    prepare_estate(url, 48)
    fresh = Identity.generate()
    db = Database.open(url, migrate=False)
    with db.write() as conn:
        code = enrolment.create_code(
            conn, terminal_type="kiosk", location="Bench lobby", created_by="staff:bench"
        )
        proof = fresh.sign(signing.enrolment_proof_message(code.code, fresh.public_key))
        enrolled = enrolment.enrol(conn, code=code.code, public_key=fresh.public_key, proof=proof)
    db.close()
    return fresh.raw_private(), enrolled.terminal_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--dir", type=Path, default=None, help="where the files go")
    parser.add_argument(
        "--wallet",
        default="services",
        help="the wallet topped up (a utility wallet also wakes the metering worker, "
        "which scans each utility top-up for debt and supply in the same server)",
    )
    args = parser.parse_args(argv)

    from offline_queue.client import RequestsTransport, SignedClient
    from offline_queue.identity import Identity
    from offline_queue.journal import Journal
    from offline_queue.sync import SyncClient

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        directory = Path(tmp)
        url = f"sqlite:///{directory / 'ledger.sqlite3'}"
        raw, terminal_id = prepare(url)
        identity = Identity.from_raw(terminal_id, raw)
        print(f"disk: {disk_of(directory)}")

        latencies, cpu = [], []
        with Journal(directory / "journal.sqlite3", identity) as journal:
            for i in range(args.entries):
                body = {
                    "unit": f"A-{i % 48:04d}",
                    "wallet": args.wallet,
                    "amount": 500,
                    "currency": "CNY",
                    "method": "cash",
                    "source": terminal_id,
                }
                started, started_cpu = time.perf_counter(), time.process_time()
                journal.append("top_up", body)
                latencies.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
            print(
                f"append ({args.entries} entries, synchronous=FULL, signed): "
                f"p50 {median(latencies):.3f} ms, p99 {percentile(latencies, 99):.3f} ms, "
                f"max {max(latencies):.3f} ms; CPU time p50 {median(cpu):.3f} ms, "
                f"p99 {percentile(cpu, 99):.3f} ms"
            )
            fsyncs = fsync_latency(directory)
            print(
                f"raw write+fsync on the same disk: p50 {median(fsyncs):.3f} ms, "
                f"p99 {percentile(fsyncs, 99):.3f} ms"
            )

            with central_server(url) as port:
                transport = RequestsTransport(f"http://127.0.0.1:{port}", timeout=600)
                sync = SyncClient(journal, SignedClient(identity, transport), batch_size=args.batch)
                server_before = children_cpu_s()
                started, started_cpu = time.perf_counter(), time.process_time()
                result = sync.sync_once()
                elapsed = time.perf_counter() - started
                client_cpu = time.process_time() - started_cpu
                server_cpu = children_cpu_s() - server_before
                transport.close()
            print(
                f"CPU time during the sync: server {server_cpu:.2f} s, client {client_cpu:.2f} s "
                f"(with a core each and nothing else running: about "
                f"{args.entries / max(server_cpu, client_cpu, 1e-9):,.0f} entries/s)"
            )
            assert result.ok, result.blocked
            assert result.applied == args.entries, result
            assert journal.backlog() == 0
            load = os.getloadavg()[0]
            print(
                f"sync ({args.entries} {args.wallet} top-ups in {result.batches} batches of "
                f"{args.batch}, "
                f"server on SQLite in its own process): {elapsed:.2f} s, "
                f"{args.entries / elapsed:,.0f} entries/s (load average {load:.1f} on "
                f"{os.cpu_count()} cores)"
            )
        from sqlalchemy import func, select

        from central.db.database import Database
        from central.db.schema import transactions

        db = Database.open(url, migrate=False)
        with db.read() as conn:
            landed = conn.execute(
                select(func.count())
                .select_from(transactions)
                .where(transactions.c.terminal_id == terminal_id)
            ).scalar_one()
        db.close()
        assert landed == args.entries, landed
        print(f"ledger holds {landed} transactions of {terminal_id}: each entry exactly once")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
