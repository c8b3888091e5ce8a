"""POST /v1/kiosk/household-wallets: a kiosk reads one household, by the credential it verified."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from central.api.routes_kiosk import qr_token_unit
from central.db.types import utcnow
from central.estate.demo import demo_card_number
from central.journal.snapshot import hash_key
from central.ledger import accounts as acc
from central.ledger.posting import Leg, post
from domain import journal as dj
from domain.wallets import cash_box_code, revenue_code
from kiosk.tokens import make_qr_token
from offline_queue.client import RequestsTransport, SignedClient
from offline_queue.errors import SyncRefused
from offline_queue.identity import Identity
from tests.kiosk.support import QR_KEY, CentralServer, enrol_kiosk, start_central

PATH = "/v1/kiosk/household-wallets"


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CentralServer]:
    server = start_central(tmp_path_factory.mktemp("central"))
    yield server
    server.stop()


def client(central: CentralServer, identity: Identity) -> SignedClient:
    return SignedClient(identity, RequestsTransport(central.base_url, timeout=5))


def card(central: CentralServer, identity: Identity, number: str) -> dict[str, str]:
    with central.db.write() as conn:
        key = hash_key(conn, identity.terminal_id)
    return {"kind": "card", "hash": dj.credential_hash(key, "card", number)}


def test_a_kiosk_reads_the_household_of_the_card_it_verified(central: CentralServer) -> None:
    kiosk = enrol_kiosk(central)
    answer = (
        client(central, kiosk)
        .call(
            "POST",
            PATH,
            {"unit": "A-0101", "credential": card(central, kiosk, demo_card_number("A", 1, 1))},
        )
        .json()
    )
    purposes = {w["purpose"]: w for w in answer["wallets"]}
    assert purposes["electricity"]["balance"] == central.balance("A-0101", "electricity")
    # Metering's state rides along with each utility wallet.
    assert set(purposes["electricity"]) >= {"days_left", "supply", "restore_pending"}
    assert purposes["electricity"]["restore_pending"] is False


def test_a_card_of_another_unit_opens_nothing(central: CentralServer) -> None:
    kiosk = enrol_kiosk(central)
    theirs = card(central, kiosk, demo_card_number("A", 1, 1))  # A-0101's card
    for unit in ("A-0201", "B-0101", "Z-9999"):  # guessing unit codes
        with pytest.raises(SyncRefused) as refused:
            client(central, kiosk).call("POST", PATH, {"unit": unit, "credential": theirs})
        assert refused.value.status == 403
        assert refused.value.code == "credential_mismatch"


def test_a_qr_token_opens_its_own_unit_only(central: CentralServer) -> None:
    kiosk = enrol_kiosk(central)
    token = make_qr_token(QR_KEY, "A-0301", int(time.time()) + 60)
    qr = {"kind": "qr", "token": token}
    ok = client(central, kiosk).call("POST", PATH, {"unit": "A-0301", "credential": qr}).json()
    assert ok["unit"] == "A-0301"
    with pytest.raises(SyncRefused):
        client(central, kiosk).call("POST", PATH, {"unit": "A-0401", "credential": qr})
    forged = {"kind": "qr", "token": make_qr_token(b"not the key", "A-0401", int(time.time()) + 60)}
    with pytest.raises(SyncRefused):
        client(central, kiosk).call("POST", PATH, {"unit": "A-0401", "credential": forged})


def test_a_terminal_that_is_not_a_kiosk_is_refused(central: CentralServer) -> None:
    turnstile = enrol_kiosk(central, "Gym", terminal_type="turnstile")
    good = card(central, turnstile, demo_card_number("A", 1, 1))
    with pytest.raises(SyncRefused) as refused:
        client(central, turnstile).call("POST", PATH, {"unit": "A-0101", "credential": good})
    assert refused.value.status == 403
    assert refused.value.code == "not_a_kiosk"


def test_staff_and_unsigned_callers_are_refused(central: CentralServer) -> None:
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as refused:
        central.call("POST", PATH, {"unit": "A-0101", "credential": {"kind": "qr", "token": "x"}})
    assert refused.value.code == 403


def test_each_wallet_carries_its_week_of_spend_and_its_last_top_up(
    central: CentralServer,
) -> None:
    unit, zone = "B-0402", ZoneInfo("Asia/Shanghai")  # the demo estate's time zone
    now = utcnow()
    with central.db.write() as conn:
        water = acc.wallet(conn, unit, "water")
        box = acc.system_account(conn, cash_box_code("kiosk-x"), kind="cash_box", currency="CNY")
        revenue = acc.system_account(conn, revenue_code("water"), kind="revenue", currency="CNY")

        def move(kind: str, amount: int, at: datetime, *, method: str | None = None) -> None:
            source, target = (box, water) if kind in ("top_up", "refund") else (water, revenue)
            post(
                conn,
                kind=kind,
                idempotency_key=f"recent-{kind}-{amount}-{at.timestamp()}",
                legs=[Leg(target, amount), Leg(source, -amount)],
                created_at=at,
                actor="test",
                method=method,
            )

        move("top_up", 5000, now - timedelta(days=9), method="cash")
        move("top_up", 2000, now, method="qr")  # after the demo's opening balances
        move("charge", 120, now - timedelta(days=3))
        move("charge", 80, now - timedelta(days=3, minutes=5))
        move("charge", 45, now)
        move("charge", 999, now - timedelta(days=8))  # before the week shown
        move("refund", 30, now)  # money back is not usage
    kiosk = enrol_kiosk(central)
    number = demo_card_number("B", 4, 2)
    answer = (
        client(central, kiosk)
        .call("POST", PATH, {"unit": unit, "credential": card(central, kiosk, number)})
        .json()
    )
    wallet = {w["purpose"]: w for w in answer["wallets"]}["water"]
    days = wallet["spend_by_day"]
    today = now.astimezone(zone).date()
    week = [(today - timedelta(days=6 - i)).isoformat() for i in range(7)]
    assert [d["day"] for d in days] == week
    expected = dict.fromkeys(week, 0)
    for amount, ago in ((120, timedelta(days=3)), (80, timedelta(days=3, minutes=5))):
        expected[(now - ago).astimezone(zone).date().isoformat()] += amount
    expected[today.isoformat()] += 45
    assert {d["day"]: d["amount"] for d in days} == expected
    last = wallet["last_top_up"]
    assert (last["amount"], last["method"]) == (2000, "qr")
    assert datetime.fromisoformat(last["at"]).utcoffset() == timedelta(hours=8)  # local time


def test_a_qr_expiry_of_non_ascii_digits_is_no_token() -> None:
    # "¹" passes str.isdigit() and int() refuses it: that was a server error.
    token = make_qr_token(QR_KEY, "A-0301", 0).replace(".0.", ".¹¹¹.")
    assert qr_token_unit(QR_KEY, token, time.time()) is None
    assert qr_token_unit(QR_KEY, "PPQ1.A-0301.1.é", time.time()) is None  # compare_digest
    good = make_qr_token(QR_KEY, "A-0301", int(time.time()) + 60)
    assert qr_token_unit(QR_KEY, good, time.time()) == "A-0301"
