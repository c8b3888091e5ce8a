"""The kiosk's local journal: money is written here, durably, before anyone is told.

SQLite in write-ahead-log mode with ``synchronous=FULL``: when ``append`` returns
the entry survives a power cut. Each entry has a sequence number without gaps;
the receipt number is the terminal id and that number. A cash session writes
``cash_open`` (unit, wallet), one ``cash_in`` per stacked note or coin and, when
it ends, one ``top_up`` in the same transaction as ``cash_closed``; a session
left open by a crash is credited on the next start (``open_sessions``).

This is the kiosk's narrow stand-in for ``offline_queue`` (issue 6): it keeps the
same promise (journal first, then the server, each top-up applied once through
its idempotency key) and the controller only uses the methods below, so the
shared journal replaces it without touching the controller.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.gateway import Credential, WalletBalance

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    session TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS top_ups (
    seq INTEGER PRIMARY KEY REFERENCES entries(seq),
    idempotency_key TEXT NOT NULL UNIQUE,
    unit TEXT NOT NULL,
    wallet TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    method TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    transaction_id TEXT NOT NULL DEFAULT '',
    balance_after INTEGER,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS wallet_cache (
    unit TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS qr_orders (
    order_id TEXT PRIMARY KEY,
    unit TEXT NOT NULL,
    wallet TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open',
    top_up_seq INTEGER,
    provider_ref TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS credentials (
    digest TEXT PRIMARY KEY,
    unit TEXT NOT NULL,
    status TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class CashSession:
    session: str
    unit: str
    wallet: str
    card: str
    stacked: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.stacked)


@dataclass(frozen=True)
class TopUpEntry:
    seq: int
    key: str
    unit: str
    wallet: str
    amount: int
    currency: str
    method: str
    state: str
    transaction_id: str
    balance_after: int | None
    at: datetime


class LocalJournal:
    def __init__(self, path: str | Path, *, terminal_id: str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.terminal_id = terminal_id
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        # A journal made anew (a replaced disk, a reinstalled kiosk) restarts its
        # sequence at 1: its id keeps its idempotency keys apart from the old ones'.
        self._db.execute(
            "INSERT OR IGNORE INTO meta VALUES ('journal_id', ?)", (secrets.token_hex(4),)
        )
        (self.journal_id,) = self._db.execute(
            "SELECT value FROM meta WHERE name = 'journal_id'"
        ).fetchone()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _insert(self, kind: str, body: dict[str, Any], session: str) -> int:
        cursor = self._db.execute(
            "INSERT INTO entries (at, kind, session, body) VALUES (?, ?, ?, ?)",
            (datetime.now(UTC).isoformat(), kind, session, json.dumps(body, sort_keys=True)),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def append(self, kind: str, body: dict[str, Any], *, session: str = "") -> int:
        """One entry, committed (fsync) before this returns; its sequence number."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                seq = self._insert(kind, body, session)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return seq

    def record_top_up(
        self,
        *,
        unit: str,
        wallet: str,
        amount: int,
        currency: str,
        method: str,
        session: str = "",
        detail: dict[str, Any] | None = None,
    ) -> TopUpEntry:
        """The top-up (and, for cash, the session's close) in one transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                body = {"unit": unit, "wallet": wallet, "amount": amount, "currency": currency}
                seq = self._insert("top_up", {**body, "method": method, **(detail or {})}, session)
                key = f"{self.terminal_id}:{self.journal_id}:{seq}"
                self._db.execute(
                    "INSERT INTO top_ups (seq, idempotency_key, unit, wallet, amount, currency,"
                    " method) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (seq, key, unit, wallet, amount, currency, method),
                )
                if session:
                    self._insert("cash_closed", {"top_up": seq}, session)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        entry = self.top_up(seq)
        assert entry is not None
        return entry

    def open_qr_order(
        self, *, order_id: str, unit: str, wallet: str, amount: int, currency: str
    ) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                body = {"order_id": order_id, "unit": unit, "wallet": wallet, "amount": amount}
                self._insert("qr_order", body, "")
                self._db.execute(
                    "INSERT INTO qr_orders (order_id, unit, wallet, amount, currency)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (order_id, unit, wallet, amount, currency),
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def qr_order(self, order_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT order_id, unit, wallet, amount, currency, state, top_up_seq"
                " FROM qr_orders WHERE order_id = ?",
                (order_id,),
            ).fetchone()
        if row is None:
            return None
        keys = ("order_id", "unit", "wallet", "amount", "currency", "state", "top_up_seq")
        return dict(zip(keys, row, strict=True))

    def credit_qr_order(self, order_id: str, provider_ref: str) -> TopUpEntry | None:
        """The provider says paid: one top-up per order, however often or late it says so."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT unit, wallet, amount, currency, state FROM qr_orders"
                    " WHERE order_id = ?",
                    (order_id,),
                ).fetchone()
                if row is None or row[4] == "paid":
                    self._db.execute("ROLLBACK")
                    return None
                unit, wallet, amount, currency, _ = row
                body = {
                    "unit": unit,
                    "wallet": wallet,
                    "amount": amount,
                    "currency": currency,
                    "method": "provider",
                    "order_id": order_id,
                    "provider_ref": provider_ref,
                }
                seq = self._insert("top_up", body, "")
                key = f"{self.terminal_id}:{self.journal_id}:{seq}"
                self._db.execute(
                    "INSERT INTO top_ups (seq, idempotency_key, unit, wallet, amount, currency,"
                    " method) VALUES (?, ?, ?, ?, ?, ?, 'provider')",
                    (seq, key, unit, wallet, amount, currency),
                )
                self._db.execute(
                    "UPDATE qr_orders SET state = 'paid', top_up_seq = ?, provider_ref = ?"
                    " WHERE order_id = ?",
                    (seq, provider_ref, order_id),
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return self.top_up(seq)

    def close_qr_order(self, order_id: str, state: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE qr_orders SET state = ? WHERE order_id = ? AND state = 'open'",
                (state, order_id),
            )

    def close_session(self, session: str, reason: str) -> None:
        """A session that took no money ends without a top-up."""
        self.append("cash_closed", {"reason": reason}, session=session)

    def open_sessions(self) -> list[CashSession]:
        """Cash sessions opened and never closed: a crash or power cut in the middle."""
        with self._lock:
            rows = self._db.execute(
                "SELECT session, kind, body FROM entries WHERE session != '' ORDER BY seq"
            ).fetchall()
        opened: dict[str, dict[str, Any]] = {}
        stacked: dict[str, list[int]] = {}
        for session, kind, body in rows:
            data = json.loads(body)
            if kind == "cash_open":
                opened[session] = data
                stacked[session] = []
            elif kind == "cash_in" and session in stacked:
                stacked[session].append(int(data["amount"]))
            elif kind == "cash_closed":
                opened.pop(session, None)
        return [
            CashSession(s, d["unit"], d["wallet"], d.get("card", ""), tuple(stacked[s]))
            for s, d in opened.items()
        ]

    def _top_ups(self, where: str, args: Iterable[Any] = ()) -> list[TopUpEntry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT t.seq, idempotency_key, unit, wallet, amount, currency, method, state,"
                " transaction_id, balance_after, e.at FROM top_ups t JOIN entries e"
                f" ON e.seq = t.seq WHERE {where} ORDER BY t.seq",
                tuple(args),
            ).fetchall()
        return [
            TopUpEntry(
                seq=row[0],
                key=row[1],
                unit=row[2],
                wallet=row[3],
                amount=row[4],
                currency=row[5],
                method=row[6],
                state=row[7],
                transaction_id=row[8],
                balance_after=row[9],
                at=datetime.fromisoformat(row[10]),
            )
            for row in rows
        ]

    def top_up(self, seq: int) -> TopUpEntry | None:
        found = self._top_ups("t.seq = ?", (seq,))
        return found[0] if found else None

    def top_ups_of(self, unit: str) -> list[TopUpEntry]:
        return self._top_ups("unit = ?", (unit,))

    def pending_top_ups(self) -> list[TopUpEntry]:
        return self._top_ups("state = 'pending'")

    def pending_total(self, unit: str, wallet: str) -> int:
        return sum(
            e.amount
            for e in self._top_ups("state = 'pending' AND unit = ? AND wallet = ?", (unit, wallet))
        )

    def cash_by_denomination(self, device: str = "bill_acceptor") -> dict[int, int]:
        """Notes (or coins) taken since the cash box was last collected, by denomination."""
        with self._lock:
            return self._counts_locked(device)

    def _counts_locked(self, device: str) -> dict[int, int]:
        rows = self._db.execute(
            "SELECT body FROM entries WHERE kind = 'cash_in' AND seq > coalesce("
            "(SELECT max(seq) FROM entries WHERE kind = 'cash_collection'), 0)"
        ).fetchall()
        counts: dict[int, int] = {}
        for (body,) in rows:
            data = json.loads(body)
            if data.get("device") == device:
                amount = int(data["amount"])
                counts[amount] = counts.get(amount, 0) + 1
        return counts

    def collect_cash(self, device: str = "bill_acceptor") -> tuple[int, dict[int, int]]:
        """The cash box was pulled: close its period; (the entry's seq, the count)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                counts = self._counts_locked(device)
                body = {
                    "device": device,
                    "counts": {str(k): v for k, v in sorted(counts.items())},
                    "total": sum(k * v for k, v in counts.items()),
                }
                seq = self._insert("cash_collection", body, "")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return seq, counts

    def mark_applied(self, seq: int, *, transaction_id: str, balance_after: int) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE top_ups SET state = 'applied', transaction_id = ?, balance_after = ?"
                " WHERE seq = ?",
                (transaction_id, balance_after, seq),
            )

    def mark_rejected(self, seq: int, reason: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE top_ups SET state = 'rejected', reason = ? WHERE seq = ?", (reason, seq)
            )

    # -- what the kiosk keeps to work offline -------------------------------------
    def cache_wallets(self, unit: str, wallets: list[WalletBalance]) -> None:
        body = json.dumps([w.__dict__ for w in wallets])
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO wallet_cache (unit, at, body) VALUES (?, ?, ?)",
                (unit, datetime.now(UTC).isoformat(), body),
            )

    def cached_wallets(self, unit: str) -> tuple[list[WalletBalance], datetime] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT at, body FROM wallet_cache WHERE unit = ?", (unit,)
            ).fetchone()
        if row is None:
            return None
        return [WalletBalance(**w) for w in json.loads(row[1])], datetime.fromisoformat(row[0])

    def replace_credentials(self, credentials: list[Credential], key: bytes) -> None:
        """Cards by keyed hash only: the journal never holds a card number in clear."""
        rows = [
            (card_digest(c.value, key), c.unit, c.status) for c in credentials if c.kind == "card"
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM credentials")
            self._db.executemany("INSERT OR REPLACE INTO credentials VALUES (?, ?, ?)", rows)
            self._db.execute("COMMIT")

    def find_card(self, card_number: str, key: bytes) -> tuple[str, str] | None:
        """(unit, status) of a card, or None if the estate does not know it."""
        with self._lock:
            row = self._db.execute(
                "SELECT unit, status FROM credentials WHERE digest = ?",
                (card_digest(card_number, key),),
            ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def count(self, kind: str) -> int:
        with self._lock:
            (count,) = self._db.execute(
                "SELECT count(*) FROM entries WHERE kind = ?", (kind,)
            ).fetchone()
        return int(count)

    def backlog(self) -> int:
        with self._lock:
            (count,) = self._db.execute(
                "SELECT count(*) FROM top_ups WHERE state = 'pending'"
            ).fetchone()
        return int(count)


def card_digest(card_number: str, key: bytes) -> str:
    return hmac.new(key, b"card:" + card_number.encode(), hashlib.sha256).hexdigest()
