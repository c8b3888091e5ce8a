"""The fund statement's hash chain: verified as issued, tampering detected."""

from __future__ import annotations

import copy
from typing import Any

from domain import fund_chain


def statement(amounts: list[int]) -> dict[str, Any]:
    prev = fund_chain.GENESIS
    entries = []
    for seq, amount in enumerate(amounts, start=1):
        entry = fund_chain.link(
            prev,
            {
                "seq": seq,
                "at": f"2026-01-{seq:02d}T00:00:00+00:00",
                "kind": "contribution" if amount > 0 else "expenditure",
                "unit": "A-0101" if amount > 0 else None,
                "project": None if amount > 0 else 1,
                "reference": f"ref {seq}",
                "amount": amount,
                "transaction_id": f"t{seq}",
            },
        )
        entries.append(entry)
        prev = entry["hash"]
    return {
        "format": fund_chain.FORMAT,
        "fund": "fund:maintenance:A",
        "currency": "CNY",
        "count": len(entries),
        "head": prev,
        **fund_chain.totals(entries),
        "entries": entries,
    }


def test_an_honest_statement_and_its_successor_verify() -> None:
    old = statement([1000, 2000])
    new = statement([1000, 2000, -500])
    assert fund_chain.verify(old) == []
    assert fund_chain.verify(new, previous=old) == []
    assert new["balance"] == 2500


def test_a_rewritten_entry_is_detected() -> None:
    bad = statement([1000, 2000, -500])
    bad["entries"][1]["amount"] = 200
    problems = fund_chain.verify(bad)
    assert any(p.seq == 2 and "rewritten" in p.detail for p in problems)


def test_a_rewritten_and_rehashed_entry_breaks_the_chain() -> None:
    bad = statement([1000, 2000, -500])
    entry = bad["entries"][1]
    entry["amount"] = 200
    entry["hash"] = fund_chain.entry_hash(entry["prev"], entry)
    problems = fund_chain.verify(bad)
    assert any(p.seq == 3 and "previous hash" in p.detail for p in problems)


def test_a_removed_entry_is_detected_even_when_rechained() -> None:
    old = statement([1000, 2000, -500])
    # The fund's keeper rebuilds a clean chain without the expenditure...
    new = statement([1000, 2000, 700])
    assert fund_chain.verify(new) == []
    # ...but an owner holding the earlier statement sees that entry 3 changed.
    problems = fund_chain.verify(new, previous=old)
    assert problems
    assert problems[0].seq == 3
    shorter = statement([1000])
    assert "removed" in fund_chain.verify(shorter, previous=old)[0].detail


def test_totals_and_head_must_match() -> None:
    bad = copy.deepcopy(statement([1000]))
    bad["balance"] = 5000
    assert any("balance" in p.detail for p in fund_chain.verify(bad))
    bad = statement([1000])
    bad["head"] = "f" * 64
    assert any("head" in p.detail for p in fund_chain.verify(bad))
    assert fund_chain.verify({"format": "x"})[0].seq is None
