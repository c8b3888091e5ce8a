"""A batch of ledger operations, in the shape a terminal's journal sync sends.

The whole batch is one database transaction; each entry runs in a savepoint
and gets its own verdict (applied, duplicate, rejected with a reason), so one
bad entry never takes its neighbours down with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from central.errors import CentralError
from central.ledger.idempotency import run_once
from central.ledger.operations import Context

Operation = Callable[[Connection, Context, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    operation: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Verdict:
    key: str
    verdict: str  # applied | duplicate | rejected
    code: str | None = None
    message: str | None = None
    result: dict[str, Any] | None = None


def apply_batch(
    conn: Connection,
    entries: Sequence[Entry],
    *,
    operations: Mapping[str, Operation],
    context_for: Callable[[str], Context],
) -> list[Verdict]:
    verdicts: list[Verdict] = []
    for entry in entries:
        operation = operations.get(entry.operation)
        if operation is None:
            verdicts.append(
                Verdict(
                    entry.key, "rejected", "unknown_operation", f"no operation {entry.operation!r}"
                )
            )
            continue
        ctx = context_for(entry.key)
        try:
            with conn.begin_nested():
                outcome = run_once(
                    conn,
                    key=entry.key,
                    operation=entry.operation,
                    request=entry.body,
                    apply=lambda op=operation, c=ctx, b=entry.body: op(conn, c, b),  # type: ignore[misc]
                )
        except CentralError as err:
            verdicts.append(Verdict(entry.key, "rejected", err.code, err.message))
            continue
        verdicts.append(
            Verdict(entry.key, "duplicate" if outcome.replayed else "applied", result=outcome.body)
        )
    return verdicts
