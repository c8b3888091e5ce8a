"""``prepaid central fund verify`` and ``prepaid central fees``, as a person runs them."""

from __future__ import annotations

import json
from pathlib import Path

from domain import fund_chain
from tests.central.test_cli import run


def _statement(amounts: list[int]) -> dict[str, object]:
    prev, entries = fund_chain.GENESIS, []
    for seq, amount in enumerate(amounts, start=1):
        entry = fund_chain.link(
            prev,
            {
                "seq": seq,
                "at": "2026-01-01T00:00:00+00:00",
                "kind": "contribution",
                "unit": "A-0101",
                "project": None,
                "reference": f"bill {seq}",
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


def test_fund_verify_and_the_fee_jobs(tmp_path: Path) -> None:
    old, new = tmp_path / "2026-01.json", tmp_path / "2026-02.json"
    old.write_text(json.dumps(_statement([100, 200])))
    new.write_text(json.dumps(_statement([100, 200, 300])))
    url = "sqlite:///" + str(tmp_path / "unused.sqlite3")
    ok = run(url, "fund", "verify", str(new), "--previous", str(old))
    assert ok.returncode == 0, ok.stderr
    assert "ok: fund:maintenance:A: 3 entries" in ok.stdout
    assert not (tmp_path / "unused.sqlite3").exists()  # an owner's check needs no database

    rewritten = _statement([100, 200, 300])
    rewritten["entries"][0]["amount"] = 1  # type: ignore[index]
    new.write_text(json.dumps(rewritten))
    bad = run(url, "fund", "verify", str(new), "--previous", str(old))
    assert bad.returncode == 1
    assert "PROBLEM entry 1" in bad.stdout

    db = "sqlite:///" + str(tmp_path / "estate.sqlite3")
    assert run(db, "init", "--name", "Fee Court", "--password", "long enough pw").returncode == 0
    billed = run(db, "fees", "bill", "2026-Q1")
    assert billed.returncode == 0, billed.stderr
    assert billed.stdout.startswith("2026-Q1: 0 bills")
    daily = run(db, "fees", "daily")
    assert daily.returncode == 0, daily.stderr
    assert "reminders" in daily.stdout
    wrong = run(db, "fees", "bill", "2026-Q9")
    assert wrong.returncode == 1
    assert "invalid_period" in wrong.stderr
