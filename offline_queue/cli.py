"""``prepaid queue``: the terminal's journal and sync, for a technician.

    prepaid queue status             backlog, oldest unsent entry, last sync, clock offset,
                                     rejections, and whether the server refuses the chain
    prepaid queue rejections         every entry the server refused, with its reason
    prepaid queue report --day DAY   the day's entries against what the server applied,
                                     every difference explained
    prepaid queue sync               upload what is unsent, once (``--loop`` keeps going)
    prepaid queue verify             check the local chain: gaps, broken links, edits

The terminal's files are in ``--dir`` (default ``$PREPAID_TERMINAL_DIR`` or
``var/terminal``): ``terminal.json`` and ``terminal.key`` from enrolment, and
``journal.sqlite3``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from domain import journal as dj
from offline_queue.client import RequestsTransport, SignedClient
from offline_queue.errors import QueueError
from offline_queue.identity import Identity
from offline_queue.journal import Journal
from offline_queue.snapshot import SnapshotStore
from offline_queue.sync import SyncClient

DEFAULT_DIR = Path("var/terminal")


def _dir(value: str | None) -> Path:
    return Path(value or os.environ.get("PREPAID_TERMINAL_DIR") or DEFAULT_DIR)


def _identity(directory: Path) -> Identity:
    if (directory / "terminal.json").exists():
        return Identity.from_terminal_dir(directory)
    if (directory / "terminal_id").exists():
        return Identity.load(directory)
    raise QueueError(
        f"no terminal identity in {directory}: enrol it first (prepaid provision enroll), "
        "or name its directory with --dir"
    )


def _when(ms: int | None) -> str:
    if ms is None:
        return "never"
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def status_lines(journal: Journal) -> list[str]:
    s = journal.status()
    now_ms = int(journal.clock() * 1000)
    age = (
        "" if s.oldest_unsent_ms is None else f" ({(now_ms - s.oldest_unsent_ms) / 1000:.0f} s old)"
    )
    return [
        f"terminal        {s.terminal_id}",
        f"journal head    {s.head_seq}",
        f"server holds    up to {s.synced_seq}",
        f"backlog         {s.backlog} entries",
        f"oldest unsent   {_when(s.oldest_unsent_ms)}{age}",
        f"last sync       {_when(s.last_sync_ms)}",
        f"clock offset    {s.clock_offset_ms / 1000:+.3f} s (server minus terminal)",
        f"rejections      {s.rejections}",
        f"last error      {s.last_error or '-'}",
        f"blocked         {s.blocked or 'no'}",
    ]


def report(journal: Journal, day: date, zone: ZoneInfo) -> dict[str, Any]:
    """The terminal's side of a day: each entry, what the server said, what differs."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    start_ms = int(start.timestamp() * 1000)
    end_ms = int((start + timedelta(days=1)).timestamp() * 1000)
    rows = journal.conn.execute(
        "SELECT seq FROM entries WHERE server_ms >= ? AND server_ms < ? ORDER BY seq",
        (start_ms, end_ms),
    ).fetchall()
    totals: dict[str, dict[str, int]] = {}
    differences: list[dict[str, Any]] = []
    for (seq,) in rows:
        entry = journal.entries(after=seq - 1, limit=1)[0]
        state = journal.state_of(seq)
        amount = entry.body.get("amount", 0) if entry.kind in dj.LEDGER_KINDS else 0
        kind_totals = totals.setdefault(entry.kind, {"journal": 0, "applied": 0, "entries": 0})
        kind_totals["journal"] += amount
        kind_totals["entries"] += 1
        if state == "applied":
            kind_totals["applied"] += amount
            continue
        verdict = journal.verdict(seq)
        differences.append(
            {
                "seq": seq,
                "kind": entry.kind,
                "amount": amount,
                "state": state,
                "explanation": (
                    "not yet on the server (offline, or waiting for the next sync)"
                    if state == "pending"
                    else f"refused by the server: {verdict.code if verdict else '?'}: "
                    f"{verdict.message if verdict else ''}"
                ),
            }
        )
    return {
        "terminal_id": journal.identity.terminal_id,
        "day": day.isoformat(),
        "timezone": str(zone),
        "entries": len(rows),
        "totals": totals,
        "differences": differences,
    }


def _zone(journal: Journal, override: str | None) -> ZoneInfo:
    if override:
        return ZoneInfo(override)
    try:
        held = SnapshotStore(journal).load()
    except QueueError:
        held = None
    return ZoneInfo(held.timezone if held else "UTC")


def _server(directory: Path, override: str | None) -> str:
    if override:
        return override
    info = directory / "terminal.json"
    if info.exists():
        server = json.loads(info.read_text()).get("server")
        if server:
            return str(server)
    raise QueueError("no server URL: pass --server or enrol the terminal first")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prepaid queue", description=__doc__.split("\n")[0])
    parser.add_argument("--dir", help="the terminal's directory (default: var/terminal)")
    parser.add_argument("--journal", help="the journal file (default: <dir>/journal.sqlite3)")
    sub = parser.add_subparsers(dest="command", required=True)
    status = sub.add_parser("status", help="backlog, last sync, clock offset, rejections")
    status.add_argument("--json", action="store_true")
    sub.add_parser("rejections", help="entries the server refused, with reasons")
    rep = sub.add_parser("report", help="a day's entries against what the server applied")
    rep.add_argument("--day", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    rep.add_argument("--tz", help="the estate's time zone (default: the snapshot's)")
    syn = sub.add_parser("sync", help="upload what is unsent")
    syn.add_argument("--server", help="the server's URL (default: from enrolment)")
    syn.add_argument("--loop", action="store_true", help="keep syncing, backing off on failure")
    sub.add_parser("verify", help="check the local chain")
    args = parser.parse_args(argv)

    directory = _dir(args.dir)
    try:
        identity = _identity(directory)
        path = Path(args.journal) if args.journal else directory / "journal.sqlite3"
        if not path.exists() and args.command != "sync":
            print(f"no journal at {path}", file=sys.stderr)
            return 1
        with Journal(path, identity) as journal:
            return _run(args, directory, journal)
    except (QueueError, OSError, ValueError) as err:
        print(f"prepaid queue: {err}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, directory: Path, journal: Journal) -> int:
    if args.command == "status":
        if args.json:
            print(json.dumps(_status_dict(journal)))
        else:
            print("\n".join(status_lines(journal)))
        return 0
    if args.command == "rejections":
        found = journal.rejections()
        for r in found:
            print(f"{r['seq']:>8}  {r['kind']:<10} {r['code']}: {r['message']}")
        if not found:
            print("no rejections")
        return 0
    if args.command == "report":
        print(json.dumps(report(journal, args.day, _zone(journal, args.tz)), indent=2))
        return 0
    if args.command == "verify":
        problems = journal.verify_chain()
        print("\n".join(problems) if problems else f"chain intact: {journal.head()} entries")
        return 1 if problems else 0
    transport = RequestsTransport(_server(directory, args.server))
    sync = SyncClient(journal, SignedClient(journal.identity, transport))
    if args.loop:
        stop = threading.Event()
        try:
            sync.run(stop)
        except KeyboardInterrupt:
            stop.set()
        return 0
    started = time.monotonic()
    result = sync.attempt()
    if result is None:
        print(f"sync failed: {journal.status().last_error}", file=sys.stderr)
        return 2
    print(
        f"sent {result.sent} in {result.batches} batches ({time.monotonic() - started:.1f} s): "
        f"{result.applied} applied, {result.duplicate} duplicate, {result.rejected} rejected"
        + (f"; blocked: {result.blocked}" if result.blocked else "")
    )
    return 0 if result.ok else 3


def _status_dict(journal: Journal) -> dict[str, Any]:
    s = journal.status()
    return {
        "terminal_id": s.terminal_id,
        "head_seq": s.head_seq,
        "synced_seq": s.synced_seq,
        "backlog": s.backlog,
        "oldest_unsent_ms": s.oldest_unsent_ms,
        "last_sync_ms": s.last_sync_ms,
        "clock_offset_ms": s.clock_offset_ms,
        "rejections": s.rejections,
        "last_error": s.last_error,
        "blocked": s.blocked,
    }
