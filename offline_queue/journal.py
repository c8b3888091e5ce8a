"""The terminal's durable journal: append first, tell the person "done" after.

One SQLite file (through sqlite-utils) in write-ahead-log mode with
``synchronous=FULL``: when :meth:`Journal.append` returns, the entry is on the
disk, fsynced, and survives a power cut. Each entry has the next sequence
number (no gaps: the number is read and written in one ``BEGIN IMMEDIATE``
transaction), a random entry id, the hash of the entry before it, both clocks
(the terminal's and its estimate of the server's), kind and body, and the
terminal's Ed25519 signature over its hash.

Entries are never edited: triggers refuse UPDATE and DELETE. Sync state lives
beside them: the server's head (``meta.synced_seq``) and each entry's verdict
(``verdicts``).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from domain import journal as dj
from domain import signing
from offline_queue.errors import JournalCorrupt, JournalError
from offline_queue.identity import Identity

log = logging.getLogger("offline_queue.journal")

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY,
    entry_id TEXT NOT NULL UNIQUE,
    prev_hash TEXT NOT NULL,
    terminal_ms INTEGER NOT NULL,
    server_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    hash TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS entries_never_edited BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'journal entries are never edited'); END;
CREATE TRIGGER IF NOT EXISTS entries_never_deleted BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'journal entries are never deleted'); END;
CREATE TABLE IF NOT EXISTS verdicts (
    seq INTEGER PRIMARY KEY,
    verdict TEXT NOT NULL,
    code TEXT,
    message TEXT,
    transaction_id TEXT,
    answered_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

Clock = Callable[[], float]
# Verdicts about the chain, not the entry: the entry may still land after a repair.
CHAIN_CODES = (
    "sequence_gap",
    "chain_broken",
    "hash_mismatch",
    "bad_signature",
    "after_break",
    "conflicts_with_accepted",
)
_CHAIN_CODES_SQL = ", ".join(f"'{c}'" for c in CHAIN_CODES)


@dataclass(frozen=True, slots=True)
class Verdict:
    seq: int
    verdict: str  # applied | rejected; a "duplicate" is stored as the first verdict
    code: str | None = None
    message: str | None = None
    transaction_id: str | None = None


@dataclass(frozen=True, slots=True)
class Status:
    terminal_id: str
    head_seq: int
    synced_seq: int
    backlog: int
    oldest_unsent_ms: int | None
    last_sync_ms: int | None
    last_error: str | None
    clock_offset_ms: int
    rejections: int
    blocked: str | None  # the server refuses the chain here: tampering or a broken journal


def connect(path: Path | str) -> sqlite3.Connection:
    """A connection with the journal's durability settings (autocommit; we BEGIN ourselves)."""
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=30, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: the WAL is fsynced at every commit, so an acknowledged entry survives a
    # power cut (NORMAL would only survive a process crash).
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class Journal:
    """One terminal's journal file. Safe to reopen after any crash."""

    def __init__(self, path: Path | str, identity: Identity, *, clock: Clock = time.time) -> None:
        self.path = Path(path)
        self.identity = identity
        self.clock = clock
        self.conn = connect(self.path)
        self._lock = threading.RLock()
        self.db = sqlite_utils.Database(self.conn)
        self.conn.executescript(SCHEMA)
        stored = self.meta("terminal_id")
        if stored is None:
            self.set_meta("terminal_id", identity.terminal_id)
        elif stored != identity.terminal_id:
            raise JournalError(
                f"this journal belongs to {stored}, not {identity.terminal_id}: "
                "a journal never changes hands"
            )

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        # One connection may serve two threads (the screen's appends, the sync loop):
        # the lock keeps their transactions apart; other processes wait on SQLite's.
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    # -- meta -------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._set_meta(key, value)

    def _set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def _meta_int(self, key: str, default: int = 0) -> int:
        value = self.meta(key)
        return default if value is None else int(value)

    @property
    def clock_offset_ms(self) -> int:
        """The server's clock minus ours, as last measured."""
        return self._meta_int("clock_offset_ms")

    def set_clock_offset(self, offset_ms: int) -> None:
        self.set_meta("clock_offset_ms", str(int(offset_ms)))

    # -- append -----------------------------------------------------------------------

    def append(self, kind: str, body: dict[str, Any], *, entry_id: str | None = None) -> dj.Entry:
        """Write one entry durably and return it; only then may the person be told "done"."""
        if kind not in dj.KINDS:
            raise JournalError(f"no journal entry kind {kind!r}")
        terminal_ms = int(self.clock() * 1000)
        server_ms = terminal_ms + self.clock_offset_ms
        entry_id = entry_id or uuid.uuid4().hex
        body_text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        with self.transaction() as conn:
            row = conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (1, dj.GENESIS_HASH) if row is None else (row[0] + 1, row[1])
            digest = dj.entry_hash(
                terminal_id=self.identity.terminal_id,
                seq=seq,
                entry_id=entry_id,
                prev_hash=prev,
                terminal_ms=terminal_ms,
                server_ms=server_ms,
                kind=kind,
                body=body,
            )
            signature = signing.b64(self.identity.sign(dj.signed_message(digest)))
            conn.execute(
                "INSERT INTO entries (seq, entry_id, prev_hash, terminal_ms, server_ms, kind, "
                "body, hash, key_id, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    seq,
                    entry_id,
                    prev,
                    terminal_ms,
                    server_ms,
                    kind,
                    body_text,
                    digest,
                    self.identity.key_id,
                    signature,
                ),
            )
        log.info(
            "journal append",
            extra={"terminal": self.identity.terminal_id, "seq": seq, "kind": kind},
        )
        return dj.Entry(
            seq, entry_id, prev, terminal_ms, server_ms, kind, body, digest,
            self.identity.key_id, signature,
        )  # fmt: skip

    # -- reading ----------------------------------------------------------------------

    @staticmethod
    def _entry(row: Sequence[Any]) -> dj.Entry:
        return dj.Entry(
            seq=int(row[0]),
            entry_id=str(row[1]),
            prev_hash=str(row[2]),
            terminal_ms=int(row[3]),
            server_ms=int(row[4]),
            kind=str(row[5]),
            body=json.loads(row[6]),
            hash=str(row[7]),
            key_id=str(row[8]),
            signature=str(row[9]),
        )

    _COLUMNS = (
        "seq, entry_id, prev_hash, terminal_ms, server_ms, kind, body, hash, key_id, signature"
    )

    def entries(self, *, after: int = 0, limit: int | None = None) -> list[dj.Entry]:
        sql = f"SELECT {self._COLUMNS} FROM entries WHERE seq > ? ORDER BY seq"
        params: tuple[Any, ...] = (after,)
        if limit is not None:
            sql += " LIMIT ?"
            params = (after, limit)
        return [self._entry(r) for r in self.conn.execute(sql, params)]

    def head(self) -> int:
        row = self.conn.execute("SELECT MAX(seq) FROM entries").fetchone()
        return int(row[0] or 0)

    @property
    def synced_seq(self) -> int:
        """The server holds every entry up to here (its head, as it last told us)."""
        return self._meta_int("synced_seq")

    def unsent(self, limit: int) -> list[dj.Entry]:
        return self.entries(after=self.synced_seq, limit=limit)

    def backlog(self) -> int:
        row = self.conn.execute(
            "SELECT COUNT(*) FROM entries WHERE seq > ?", (self.synced_seq,)
        ).fetchone()
        return int(row[0])

    # -- sync state -------------------------------------------------------------------

    def record_answer(
        self, *, head_seq: int, results: Sequence[dict[str, Any]], now_ms: int | None = None
    ) -> None:
        """Keep the server's verdicts and head beside the entries, in one transaction."""
        now_ms = int(self.clock() * 1000) if now_ms is None else now_ms
        local_head = self.head()
        with self.transaction() as conn:
            rows = []
            blocked: str | None = None
            for r in results:
                verdict = r["verdict"]
                if verdict == "duplicate":
                    verdict = r.get("first_verdict") or "applied"
                seq = int(r["seq"])
                if seq > head_seq and verdict == "rejected" and blocked is None:
                    blocked = f"entry {seq}: {r.get('code')}: {r.get('message')}"
                rows.append(
                    (seq, verdict, r.get("code"), r.get("message"), r.get("transaction_id"), now_ms)
                )
            # A later answer about the same entry (a resend) never changes its first
            # verdict, except that an entry once refused for the chain may land later.
            conn.executemany(
                "INSERT INTO verdicts (seq, verdict, code, message, transaction_id, answered_ms) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(seq) DO UPDATE SET "
                "verdict = excluded.verdict, code = excluded.code, message = excluded.message, "
                "transaction_id = excluded.transaction_id, answered_ms = excluded.answered_ms "
                f"WHERE verdicts.code IN ({_CHAIN_CODES_SQL})",
                rows,
            )
            if head_seq > local_head:
                raise JournalCorrupt(
                    f"the server holds entries up to {head_seq} but this journal ends at "
                    f"{local_head}: this journal lost entries (restored from an old copy?)"
                )
            if head_seq < self.synced_seq:
                # The server holds less than it did (restored from a backup?): its head is
                # the truth, so what it lost is sent again (the ledger's keys still stop
                # anything it kept from landing twice).
                log.warning(
                    "server journal head went back",
                    extra={
                        "terminal": self.identity.terminal_id,
                        "seq": head_seq,
                        "was": self.synced_seq,
                    },
                )
            self._set_meta("synced_seq", str(head_seq))
            self._set_meta("last_sync_ms", str(now_ms))
            if blocked is not None:
                self._set_meta("blocked", blocked)
            else:
                conn.execute("DELETE FROM meta WHERE key = 'blocked'")
            conn.execute("DELETE FROM meta WHERE key = 'last_error'")

    def record_error(self, message: str) -> None:
        self.set_meta("last_error", message[:500])

    def verdict(self, seq: int) -> Verdict | None:
        row = self.conn.execute(
            "SELECT seq, verdict, code, message, transaction_id FROM verdicts WHERE seq = ?",
            (seq,),
        ).fetchone()
        return None if row is None else Verdict(*row)

    def state_of(self, seq: int) -> str:
        """pending (not yet on the server), applied or rejected: what a screen shows."""
        if seq > self.synced_seq:
            return "pending"
        found = self.verdict(seq)
        return "applied" if found is None else found.verdict

    def rejections(self) -> list[dict[str, Any]]:
        """Entries the server refused, for a technician; they stay here for good."""
        rows = self.conn.execute(
            "SELECT v.seq, e.kind, e.body, v.code, v.message, v.answered_ms FROM verdicts v "
            "JOIN entries e ON e.seq = v.seq WHERE v.verdict = 'rejected' ORDER BY v.seq"
        ).fetchall()
        return [
            {
                "seq": r[0],
                "kind": r[1],
                "body": json.loads(r[2]),
                "code": r[3],
                "message": r[4],
                "answered_ms": r[5],
            }
            for r in rows
        ]

    def status(self) -> Status:
        synced = self.synced_seq
        oldest = self.conn.execute(
            "SELECT terminal_ms FROM entries WHERE seq > ? ORDER BY seq LIMIT 1", (synced,)
        ).fetchone()
        last_sync = self.meta("last_sync_ms")
        rejected = self.conn.execute(
            "SELECT COUNT(*) FROM verdicts WHERE verdict = 'rejected'"
        ).fetchone()
        return Status(
            terminal_id=self.identity.terminal_id,
            head_seq=self.head(),
            synced_seq=synced,
            backlog=self.backlog(),
            oldest_unsent_ms=None if oldest is None else int(oldest[0]),
            last_sync_ms=None if last_sync is None else int(last_sync),
            last_error=self.meta("last_error"),
            clock_offset_ms=self.clock_offset_ms,
            rejections=int(rejected[0]),
            blocked=self.meta("blocked"),
        )

    def verify_chain(self) -> list[str]:
        """Problems with the local chain (gaps, broken links, edited entries); empty if none."""
        problems: list[str] = []
        expected, prev = 1, dj.GENESIS_HASH
        for e in self.entries():
            if e.seq != expected:
                problems.append(f"entry {expected} is missing (next is {e.seq})")
            elif e.prev_hash != prev:
                problems.append(f"entry {e.seq} does not link to entry {e.seq - 1}")
            if e.computed_hash(self.identity.terminal_id) != e.hash:
                problems.append(f"entry {e.seq} was edited")
            expected, prev = e.seq + 1, e.hash
        return problems
