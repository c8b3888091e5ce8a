"""The kiosk as an enrolled terminal: its requests are signed, its money is in the
signed journal, and the server applies each entry once."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request

import pytest

from domain import journal as dj
from kiosk.controller import KioskController
from offline_queue.client import Answer, RequestsTransport, SignedClient
from offline_queue.errors import SyncError, SyncRefused
from offline_queue.identity import Identity
from tests.kiosk.conftest import Rig
from tests.kiosk.test_controller import identify, until
from tests.offline_queue.support import ledger_count


def cash_top_up(rig: Rig, kiosk: KioskController, unit: str, notes: tuple[int, ...]) -> int:
    identify(kiosk, unit)
    kiosk.choose_wallet("electricity")
    kiosk.start_cash()
    for value in notes:
        rig.bill_sim.insert(value=value)
    until(kiosk, lambda: kiosk.view.inserted == sum(notes) * 100)
    kiosk.finish()
    receipt = kiosk.view.receipt
    assert receipt is not None
    return receipt.seq


def test_a_request_signed_with_another_key_or_unsigned_is_refused(rig: Rig) -> None:
    me = rig.identity.terminal_id
    path = dj.snapshot_path(me) + "?since=0"
    own = SignedClient(rig.identity, RequestsTransport(rig.central.base_url, timeout=5))
    assert own.call("GET", path).json()["terminal_id"] == me
    # Another enrolled terminal's key, claiming to be this kiosk.
    other = Identity.generate(me)
    forged = SignedClient(other, RequestsTransport(rig.central.base_url, timeout=5))
    with pytest.raises(SyncRefused) as refused:
        forged.call("GET", path)
    assert refused.value.status == 401
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(rig.central.base_url + path, timeout=5)
    assert unsigned.value.code == 401


def test_cash_lands_in_the_servers_journal_and_the_ledger_once(rig: Rig) -> None:
    kiosk = rig.kiosk()
    before = rig.central.balance("A-1001", "electricity")
    seq = cash_top_up(rig, kiosk, "A-1001", (20, 50))
    assert rig.central.balance("A-1001", "electricity") == before + 7000
    assert ledger_count(rig.central.db, rig.identity.terminal_id) == {seq: 1}
    entry = kiosk.journal.top_up(seq)
    assert entry is not None
    assert entry.state == "applied"
    assert entry.key == dj.ledger_key(rig.identity.terminal_id, seq)
    kinds = [e.kind for e in kiosk.journal.signed.entries()]
    assert kinds == ["cash_open", "cash_in", "cash_in", "top_up", "cash_closed"]
    assert kiosk.journal.backlog() == 0


def test_a_sync_whose_answer_was_lost_still_applies_once(rig: Rig) -> None:
    kiosk = rig.kiosk()
    gateway: object = kiosk.gateway
    keyed = gateway._keyed  # type: ignore[attr-defined]
    real = keyed.inner
    lost = {"n": 0}

    def lose_journal_answers(
        method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> Answer:
        answer = real(method, path, body, headers)
        if path.endswith("/journal") and lost["n"] < 1:
            lost["n"] += 1
            raise SyncError("the connection dropped before the answer arrived")
        return answer

    keyed.inner = lose_journal_answers
    before = rig.central.balance("A-1002", "electricity")
    seq = cash_top_up(rig, kiosk, "A-1002", (100,))
    assert lost["n"] == 1  # the server took the batch; the kiosk never heard
    assert kiosk.journal.top_up(seq).state == "pending"  # type: ignore[union-attr]
    kiosk._next_sync = 0
    until(kiosk, lambda: kiosk.journal.backlog() == 0)
    assert rig.central.balance("A-1002", "electricity") == before + 10000
    assert ledger_count(rig.central.db, rig.identity.terminal_id) == {seq: 1}


def test_a_tampered_kiosk_entry_is_refused_by_the_server(rig: Rig) -> None:
    kiosk = rig.kiosk(base_url="http://127.0.0.1:9")  # offline: the entries stay here
    before = rig.central.balance("B-1001", "electricity")
    seq = cash_top_up(rig, kiosk, "B-1001", (20,))
    raw = sqlite3.connect(rig.journal_path, isolation_level=None)
    raw.execute("DROP TRIGGER entries_never_edited")
    body = json.loads(raw.execute("SELECT body FROM entries WHERE seq = ?", (seq,)).fetchone()[0])
    body["amount"] = 200000  # 20.00 made 2,000.00
    raw.execute(
        "UPDATE entries SET body = ? WHERE seq = ?", (json.dumps(body, sort_keys=True), seq)
    )
    raw.close()
    kiosk.gateway.base_url = rig.central.base_url  # type: ignore[attr-defined]
    result = kiosk.gateway.sync(kiosk.journal.signed)
    assert result.blocked is not None
    assert rig.central.balance("B-1001", "electricity") == before
    assert seq not in ledger_count(rig.central.db, rig.identity.terminal_id)


def test_a_pulled_cassette_is_journalled_with_its_count(rig: Rig) -> None:
    kiosk = rig.kiosk()
    cash_top_up(rig, kiosk, "B-1002", (20, 20, 50))
    kiosk.go_idle()
    rig.bill_sim.remove_cassette()
    kiosk._next_health = 0
    until(kiosk, lambda: kiosk.journal.count("cash_collected") == 1)
    collected = [e for e in kiosk.journal.signed.entries() if e.kind == "cash_collected"]
    assert collected[0].body == {
        "device": "bill_acceptor",
        "period": 1,
        "counts": {"2000": 2, "5000": 1},
        "total": 9000,
        "currency": "CNY",
    }
    kiosk._next_sync = 0
    until(kiosk, lambda: kiosk.journal.backlog() == 0)  # the server took it as an event
