"""The kiosk's side of the shared terminal journal (``offline_queue``).

Money goes into offline_queue's :class:`~offline_queue.journal.Journal`: hash-
chained, signed with the kiosk's key, fsynced before this returns, uploaded by
the sync client and applied by the server exactly once under the ledger key
``journal:<terminal>:<seq>``. A cash session is ``cash_open`` (unit, wallet,
session), one ``cash_in`` per stacked note or coin, then one ``top_up`` whose
``receipt`` annotation names the session, then ``cash_closed``; a session with
no ``cash_closed`` and no top-up naming it was cut off by a crash and is credited
on the next start (``open_sessions``). A pulled cash box is ``cash_collected``.

What is not a journal entry lives in small local tables of the same file: the
kiosk's own events (refusals, receipts printed: they stay on the terminal), open
QR orders, the balance read after each top-up, and the wallets last seen per
unit. The card directory is the terminal snapshot (keyed hashes), stored
encrypted beside the journal by :class:`~offline_queue.snapshot.SnapshotStore`;
it holds the estate's staff (technician) cards too, by id, role and status.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain import journal as dj
from kiosk.gateway import WalletBalance
from offline_queue.identity import Identity
from offline_queue.journal import Journal
from offline_queue.snapshot import Snapshot, SnapshotStore

# Kinds the signed journal carries; everything else the kiosk notes stays local.
SIGNED_KINDS = frozenset({"cash_open", "cash_in", "cash_closed", "cash_collected", "top_up"})

SCHEMA = """
CREATE TABLE IF NOT EXISTS kiosk_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS kiosk_qr_orders (
    order_id TEXT PRIMARY KEY,
    unit TEXT NOT NULL,
    wallet TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open',
    top_up_seq INTEGER,
    provider_ref TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS kiosk_balances (
    seq INTEGER PRIMARY KEY,
    transaction_id TEXT NOT NULL,
    balance_after INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS kiosk_wallet_cache (
    unit TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    body TEXT NOT NULL
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
class StaffCard:
    """A staff card from the snapshot: its id (never the holder's name), role and status."""

    card_id: int
    role: str  # "technician"
    status: str  # active | lost | revoked

    @property
    def opens_technician_mode(self) -> bool:
        return self.role == "technician" and self.status == "active"


@dataclass(frozen=True)
class TopUpEntry:
    seq: int
    key: str  # the ledger's idempotency key of this entry
    unit: str
    wallet: str
    amount: int
    currency: str
    method: str
    state: str  # pending | applied | rejected (the server's verdict)
    transaction_id: str
    balance_after: int | None
    at: datetime

    @property
    def refused(self) -> bool:
        """The server refused it: the cash is in the box, and the office credits it."""
        return self.state == "rejected"


class KioskJournal:
    """The signed journal, the snapshot and the kiosk's local tables, in one file."""

    def __init__(self, path: str | Path, identity: Identity) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.signed = Journal(path, identity)
        self.snapshots = SnapshotStore(self.signed)
        self.terminal_id = identity.terminal_id
        self._lock = threading.RLock()
        self._db = self.signed.conn
        self._db.executescript(SCHEMA)
        # Keeps a reinstalled kiosk's QR order ids apart from the old ones'.
        stored = self.signed.meta("kiosk_journal_id")
        if stored is None:
            import secrets

            stored = secrets.token_hex(4)
            self.signed.set_meta("kiosk_journal_id", stored)
        self.journal_id = stored

    def close(self) -> None:
        self.signed.close()

    # -- writing ----------------------------------------------------------------------
    def append(self, kind: str, body: dict[str, Any], *, session: str = "") -> int:
        """One entry, on disk before this returns: signed for money, local otherwise."""
        if kind in SIGNED_KINDS:
            full = {**body, "session": session} if session else dict(body)
            return self.signed.append(kind, full).seq
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO kiosk_events (at, kind, body) VALUES (?, ?, ?)",
                (datetime.now(UTC).isoformat(), kind, json.dumps(body, sort_keys=True)),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def _top_up_body(
        self, *, unit: str, wallet: str, amount: int, currency: str, method: str,
        memo: str, receipt: dict[str, Any], source: str = "",
    ) -> dict[str, Any]:  # fmt: skip
        return {
            "unit": unit,
            "wallet": wallet,
            "amount": amount,
            "currency": currency,
            "method": method,
            # Cash is in this kiosk's box; a provider's payment is owed by its clearing account.
            "source": source or self.terminal_id,
            "memo": memo,
            # An annotation: the server takes it off before the ledger sees the body.
            "receipt": receipt,
        }

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
        """The top-up and, for cash, the session's close. A crash between the two
        leaves a top-up that names its session: ``open_sessions`` counts it closed."""
        receipt = {**(detail or {}), **({"session": session} if session else {})}
        body = self._top_up_body(
            unit=unit, wallet=wallet, amount=amount, currency=currency, method=method,
            memo=f"kiosk {self.terminal_id} {method}", receipt=receipt,
        )  # fmt: skip
        seq = self.signed.append("top_up", body).seq
        if session:
            self.signed.append("cash_closed", {"session": session, "top_up": seq})
        entry = self.top_up(seq)
        assert entry is not None
        return entry

    def close_session(self, session: str, reason: str) -> None:
        """A session that took no money ends without a top-up."""
        self.signed.append("cash_closed", {"session": session, "reason": reason})

    def open_sessions(self) -> list[CashSession]:
        """Cash sessions opened and never closed: a crash or power cut in the middle."""
        opened: dict[str, dict[str, Any]] = {}
        stacked: dict[str, list[int]] = {}
        for e in self.signed.entries():
            session = str(e.body.get("session") or "")
            if e.kind == "top_up":
                session = str((e.body.get("receipt") or {}).get("session") or "")
            if not session:
                continue
            if e.kind == "cash_open":
                opened[session] = e.body
                stacked[session] = []
            elif e.kind == "cash_in" and session in stacked:
                stacked[session].append(int(e.body["amount"]))
            elif e.kind in ("cash_closed", "top_up"):
                opened.pop(session, None)
        return [
            CashSession(s, d["unit"], d["wallet"], d.get("card", ""), tuple(stacked[s]))
            for s, d in opened.items()
        ]

    # -- QR orders (local: an order moves no money until it is paid) -------------------
    def open_qr_order(
        self, *, order_id: str, unit: str, wallet: str, amount: int, currency: str
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO kiosk_qr_orders (order_id, unit, wallet, amount, currency)"
                " VALUES (?, ?, ?, ?, ?)",
                (order_id, unit, wallet, amount, currency),
            )

    def qr_order(self, order_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT order_id, unit, wallet, amount, currency, state, top_up_seq"
                " FROM kiosk_qr_orders WHERE order_id = ?",
                (order_id,),
            ).fetchone()
        if row is None:
            return None
        keys = ("order_id", "unit", "wallet", "amount", "currency", "state", "top_up_seq")
        return dict(zip(keys, row, strict=True))

    def credit_qr_order(
        self, order_id: str, provider_ref: str, *, provider: str = "sandbox"
    ) -> TopUpEntry | None:
        """The provider says paid: one top-up per order, however often or late it says so."""
        with self._lock:
            row = self._db.execute(
                "SELECT unit, wallet, amount, currency, state FROM kiosk_qr_orders"
                " WHERE order_id = ?",
                (order_id,),
            ).fetchone()
            if row is None or row[4] == "paid":
                return None
            unit, wallet, amount, currency, _ = row
            body = self._top_up_body(
                unit=unit, wallet=wallet, amount=amount, currency=currency, method="provider",
                memo=f"kiosk {self.terminal_id} provider {provider_ref}", source=provider,
                receipt={"order_id": order_id, "provider_ref": provider_ref},
            )  # fmt: skip
            seq = self.signed.append("top_up", body).seq
            self._db.execute(
                "UPDATE kiosk_qr_orders SET state = 'paid', top_up_seq = ?, provider_ref = ?"
                " WHERE order_id = ?",
                (seq, provider_ref, order_id),
            )
        return self.top_up(seq)

    def close_qr_order(self, order_id: str, state: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE kiosk_qr_orders SET state = ? WHERE order_id = ? AND state = 'open'",
                (state, order_id),
            )

    # -- top-ups and their verdicts --------------------------------------------------
    def _top_ups(self) -> list[TopUpEntry]:
        verdicts = {
            int(r[0]): (str(r[1]), str(r[2] or ""))
            for r in self._db.execute("SELECT seq, verdict, transaction_id FROM verdicts")
        }
        after = {
            int(r[0]): (str(r[1]), int(r[2]))
            for r in self._db.execute(
                "SELECT seq, transaction_id, balance_after FROM kiosk_balances"
            )
        }
        out = []
        for e in self.signed.entries():
            if e.kind != "top_up":
                continue
            state, transaction_id = verdicts.get(e.seq, ("pending", ""))
            known = after.get(e.seq)
            out.append(
                TopUpEntry(
                    seq=e.seq,
                    key=dj.ledger_key(self.terminal_id, e.seq),
                    unit=str(e.body["unit"]),
                    wallet=str(e.body["wallet"]),
                    amount=int(e.body["amount"]),
                    currency=str(e.body["currency"]),
                    method=str(e.body["method"]),
                    state=state,
                    transaction_id=transaction_id or (known[0] if known else ""),
                    balance_after=None if known is None else known[1],
                    at=datetime.fromtimestamp(e.terminal_ms / 1000, UTC),
                )
            )
        return out

    def top_up(self, seq: int) -> TopUpEntry | None:
        return next((t for t in self._top_ups() if t.seq == seq), None)

    def top_ups_of(self, unit: str) -> list[TopUpEntry]:
        return [t for t in self._top_ups() if t.unit == unit]

    def pending_top_ups(self) -> list[TopUpEntry]:
        return [t for t in self._top_ups() if t.state == "pending"]

    def pending_total(self, unit: str, wallet: str) -> int:
        return sum(t.amount for t in self.pending_top_ups() if (t.unit, t.wallet) == (unit, wallet))

    def remember_balance(self, seq: int, *, transaction_id: str, balance_after: int) -> None:
        """The wallet's balance read after the server applied entry ``seq``."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO kiosk_balances VALUES (?, ?, ?)",
                (seq, transaction_id, balance_after),
            )

    # -- the cash box ----------------------------------------------------------------
    def _period_entries(self, device: str) -> tuple[int, list[dj.Entry]]:
        """(the last collection's period, the cash_in entries since)."""
        period, since = 0, list[dj.Entry]()
        for e in self.signed.entries():
            if e.kind == "cash_collected" and e.body.get("device") == device:
                period, since = int(e.body["period"]), []
            elif e.kind == "cash_in" and e.body.get("device") == device:
                since.append(e)
        return period, since

    def cash_by_denomination(self, device: str = "bill_acceptor") -> dict[int, int]:
        """Notes (or coins) taken since the cash box was last collected, by denomination."""
        counts: dict[int, int] = {}
        for e in self._period_entries(device)[1]:
            amount = int(e.body["amount"])
            counts[amount] = counts.get(amount, 0) + 1
        return counts

    def collect_cash(
        self, device: str = "bill_acceptor", *, currency: str = "CNY"
    ) -> tuple[int, dict[int, int]]:
        """The cash box was pulled: journal its count, closing the period; (seq, count)."""
        with self._lock:
            period, _ = self._period_entries(device)
            counts = self.cash_by_denomination(device)
            body = {
                "device": device,
                "period": period + 1,
                "counts": {str(k): v for k, v in sorted(counts.items())},
                "total": sum(k * v for k, v in counts.items()),
                "currency": currency,
            }
            seq = self.signed.append("cash_collected", body).seq
        return seq, counts

    # -- what the kiosk keeps to work offline -------------------------------------
    def cache_wallets(self, unit: str, wallets: list[WalletBalance]) -> None:
        body = json.dumps([w.to_dict() for w in wallets])
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO kiosk_wallet_cache (unit, at, body) VALUES (?, ?, ?)",
                (unit, datetime.now(UTC).isoformat(), body),
            )

    def cached_wallets(self, unit: str) -> tuple[list[WalletBalance], datetime] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT at, body FROM kiosk_wallet_cache WHERE unit = ?", (unit,)
            ).fetchone()
        if row is None:
            return None
        # Rows cached by an older kiosk lack the newer fields: they load with the defaults.
        wallets = [WalletBalance.from_dict(w) for w in json.loads(row[1])]
        return wallets, datetime.fromisoformat(row[0])

    def snapshot(self) -> Snapshot | None:
        return self.snapshots.load()

    def card_hash(self, card_number: str) -> str | None:
        """The card as the server's snapshot knows it (a keyed hash), or None before
        the first snapshot."""
        held = self.snapshot()
        return None if held is None else held.credential_hash("card", card_number)

    def find_card(self, card_number: str) -> tuple[str, str] | None:
        """(unit, status) of a card, or None if the estate does not know it."""
        held = self.snapshot()
        if held is None:
            return None
        digest = held.credential_hash("card", card_number)
        if held.is_revoked(digest):
            return ("", str(held.data.get("revoked_status", {}).get(digest, "blocked")))
        unit = held.unit_of(digest)
        return None if unit is None else (unit, "active")

    def find_staff_card(self, card_number: str) -> StaffCard | None:
        """The staff card with this number, as the snapshot knows it, or None.

        A number that is also a resident's card is refused whichever way it is read
        (the server issues neither over the other; this guards a registry import)."""
        held = self.snapshot()
        if held is None:
            return None
        digest = held.credential_hash("card", card_number)
        found = held.data.get("staff_cards", {}).get(digest)
        if found is None:
            return None
        ambiguous = held.unit_of(digest) is not None
        return StaffCard(
            card_id=int(found["id"]),
            role=str(found.get("role", "")),
            status="revoked" if ambiguous else str(found.get("status", "revoked")),
        )

    def credential_kind(self, card_number: str) -> str | None:
        held = self.snapshot()
        if held is None:
            return None
        found = held.data.get("credentials", {}).get(held.credential_hash("card", card_number))
        return None if found is None else str(found.get("kind", "card"))

    def count(self, kind: str) -> int:
        if kind in SIGNED_KINDS:
            return sum(1 for e in self.signed.entries() if e.kind == kind)
        with self._lock:
            (count,) = self._db.execute(
                "SELECT count(*) FROM kiosk_events WHERE kind = ?", (kind,)
            ).fetchone()
        return int(count)

    def events(self, kind: str) -> list[dict[str, Any]]:
        """The bodies of the kiosk's own (unsigned) events of ``kind``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM kiosk_events WHERE kind = ? ORDER BY id", (kind,)
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def backlog(self) -> int:
        """Entries the server does not hold yet."""
        return self.signed.backlog()


def LocalJournal(path: str | Path, *, terminal_id: str) -> KioskJournal:
    """A journal under a throwaway identity, for a kiosk that never syncs (the gallery)."""
    return KioskJournal(path, Identity.generate(terminal_id))
