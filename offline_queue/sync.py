"""The sync client: upload unsent entries in batches, keep the verdicts, back off.

Everything it knows lives in the journal file (``synced_seq``, verdicts, the clock
offset), so a restart resumes where the last answer left it. An upload whose
answer was lost is simply sent again: the server answers ``duplicate`` for what
it already holds, so nothing is applied twice.

Back-off: exponential with full jitter (a random delay between half and all of
``base * 2**failures``, capped), so a fleet coming back after an outage does not
hammer the server in step.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, field

from domain import journal as dj
from offline_queue.client import SignedClient
from offline_queue.errors import JournalCorrupt, SyncError
from offline_queue.journal import Journal

log = logging.getLogger("offline_queue.sync")

BATCH = 500


@dataclass(slots=True)
class SyncResult:
    sent: int = 0
    applied: int = 0
    duplicate: int = 0
    rejected: int = 0
    batches: int = 0
    blocked: str | None = None  # the server refused the chain: a technician must look
    rejected_seqs: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.blocked is None


class SyncClient:
    def __init__(
        self,
        journal: Journal,
        client: SignedClient,
        *,
        batch_size: int = BATCH,
        base_delay_s: float = 0.5,
        max_delay_s: float = 300.0,
        rng: random.Random | None = None,
    ) -> None:
        self.journal = journal
        self.client = client
        self.batch_size = batch_size
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.rng = rng or random.Random()
        self.failures = 0
        self.client.offset_ms = journal.clock_offset_ms
        self.path = dj.journal_path(journal.identity.terminal_id)

    def upload(self, entries: list[dj.Entry]) -> dict[str, object]:
        """One batch to the server; its answer (``head_seq``, ``results``)."""
        answer = self.client.call("POST", self.path, {"entries": [e.to_wire() for e in entries]})
        data = answer.json()
        if not isinstance(data, dict) or "head_seq" not in data:
            raise SyncError(f"the server's answer is not a journal receipt: {data!r:.200}")
        return data

    def sync_once(self, *, max_batches: int | None = None) -> SyncResult:
        """Upload until nothing is unsent (or ``max_batches``); raise ``SyncError`` on failure."""
        result = SyncResult()
        terminal = self.journal.identity.terminal_id
        while max_batches is None or result.batches < max_batches:
            batch = self.journal.unsent(self.batch_size)
            if not batch:
                break
            before = self.journal.synced_seq
            try:
                data = self.upload(batch)
            except SyncError as err:
                self.journal.record_error(str(err))
                raise
            finally:
                self.journal.set_clock_offset(self.client.offset_ms)
            results = data.get("results")
            assert isinstance(results, list)
            head_seq = data["head_seq"]
            assert isinstance(head_seq, int)
            self.journal.record_answer(head_seq=head_seq, results=results)
            result.batches += 1
            result.sent += len(batch)
            for r in results:
                verdict = r.get("verdict")
                if verdict == "applied":
                    result.applied += 1
                elif verdict == "duplicate":
                    result.duplicate += 1
                else:
                    result.rejected += 1
                    result.rejected_seqs.append(int(r["seq"]))
                    log.warning(
                        "journal entry rejected",
                        extra={"terminal": terminal, "seq": r["seq"], "code": r.get("code")},
                    )
            blocked = self.journal.meta("blocked")
            if blocked is None and self.journal.synced_seq <= before:
                blocked = f"the server's head stays at {head_seq}: it refuses entry {before + 1}"
            if blocked is not None:
                result.blocked = blocked
                log.error(
                    "journal sync blocked",
                    extra={"terminal": terminal, "seq": before + 1, "detail": result.blocked},
                )
                break
        log.info(
            "journal sync",
            extra={
                "terminal": terminal,
                "synced_seq": self.journal.synced_seq,
                "sent": result.sent,
                "applied": result.applied,
                "duplicate": result.duplicate,
                "rejected": result.rejected,
            },
        )
        return result

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt, after ``self.failures`` failures in a row."""
        if self.failures == 0:
            return 0.0
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (self.failures - 1))
        return self.rng.uniform(ceiling / 2, ceiling)

    def attempt(self) -> SyncResult | None:
        """One try, updating the back-off: the result, or ``None`` when it failed."""
        try:
            result = self.sync_once()
        except (SyncError, JournalCorrupt) as err:
            self.failures += 1
            log.warning(
                "journal sync failed",
                extra={
                    "terminal": self.journal.identity.terminal_id,
                    "failures": self.failures,
                    "error": str(err)[:200],
                },
            )
            return None
        self.failures = 0 if result.ok else self.failures + 1
        return result

    def run(self, stop: threading.Event, *, idle_s: float = 2.0) -> None:
        """Sync until ``stop`` is set: promptly while it works, backing off while it fails."""
        while not stop.is_set():
            self.attempt()
            stop.wait(self.next_delay() if self.failures else idle_s)
