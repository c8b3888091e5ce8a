"""The maintenance fund's statement as a hash chain, which any owner can check.

Each entry of a building's fund (a contribution, a payment for a project) is
hashed together with the hash of the entry before it, so an entry removed,
inserted or rewritten changes every hash after it. A statement carries all
entries from the first, and its last hash (the head). Given an older statement,
the newer one must repeat every one of its entries unchanged: then nothing was
removed or rewritten between the two. Problems come back as values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FORMAT = "prepaid-fund-statement/1"
GENESIS = "0" * 64
# The fields an entry's hash covers, in this order of meaning (JSON sorts them).
FIELDS = ("seq", "at", "kind", "unit", "project", "reference", "amount", "transaction_id")


def canonical(entry: Mapping[str, Any]) -> bytes:
    body = {name: entry.get(name) for name in FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(prev: str, entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev.encode() + b"\n" + canonical(entry)).hexdigest()


def link(prev: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """The entry with its place in the chain: the previous hash and its own."""
    body = {name: entry.get(name) for name in FIELDS}
    return {**body, "prev": prev, "hash": entry_hash(prev, body)}


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int | None
    detail: str


def totals(entries: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Contributions (less any reversed), spending on projects, and the balance."""
    contributions = sum(int(e["amount"]) for e in entries if e.get("kind") == "contribution")
    spending = -sum(int(e["amount"]) for e in entries if e.get("kind") == "expenditure")
    return {
        "contributions": contributions,
        "spending": spending,
        "balance": sum(int(e["amount"]) for e in entries),
    }


def verify(
    statement: Mapping[str, Any], previous: Mapping[str, Any] | None = None
) -> list[Problem]:
    """Every problem with ``statement`` (and with it as a successor of ``previous``)."""
    problems: list[Problem] = []
    if statement.get("format") != FORMAT:
        return [Problem(None, f"not a fund statement (format {statement.get('format')!r})")]
    entries = statement.get("entries")
    if not isinstance(entries, list):
        return [Problem(None, "the statement has no list of entries")]
    prev = GENESIS
    for index, entry in enumerate(entries, start=1):
        seq = entry.get("seq") if isinstance(entry, Mapping) else None
        if not isinstance(entry, Mapping) or seq != index:
            problems.append(Problem(index, f"entry {index} is missing or out of order"))
            break
        if entry.get("prev") != prev:
            problems.append(Problem(seq, "its previous hash is not the hash of the entry before"))
        if entry_hash(str(entry.get("prev")), entry) != entry.get("hash"):
            problems.append(Problem(seq, "its content does not match its hash: it was rewritten"))
        prev = str(entry.get("hash"))
    if statement.get("head") != prev:
        problems.append(Problem(None, "the head hash is not the last entry's hash"))
    if statement.get("count") != len(entries):
        problems.append(Problem(None, "the entry count does not match the entries"))
    if not problems:
        for name, value in totals(entries).items():
            if statement.get(name) != value:
                problems.append(Problem(None, f"the stated {name} does not add up to {value}"))
    if previous is not None:
        problems.extend(_extends(previous, statement))
    return problems


def _extends(older: Mapping[str, Any], newer: Mapping[str, Any]) -> list[Problem]:
    problems = [Problem(p.seq, f"in the earlier statement: {p.detail}") for p in verify(older)]
    if problems:
        return problems
    if older.get("fund") != newer.get("fund"):
        return [Problem(None, "the two statements are of different funds")]
    old_entries: list[Mapping[str, Any]] = list(older["entries"])
    new_entries: list[Mapping[str, Any]] = list(newer["entries"])
    if len(new_entries) < len(old_entries):
        return [
            Problem(
                None,
                f"the newer statement has {len(new_entries)} entries, "
                f"fewer than the earlier {len(old_entries)}: entries were removed",
            )
        ]
    for old, new in zip(old_entries, new_entries, strict=False):
        if old.get("hash") != new.get("hash"):
            return [Problem(old.get("seq"), "this entry differs from the earlier statement")]
    return []
