"""The overview's recent usage: each wallet's last top-up and a chosen wallet's last seven
days of spend, from the real server's ledger; offline from the kiosk's cache with its age;
cache rows written before these fields existed still load. Then the same in the window."""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from kiosk.app import KioskApp
from kiosk.controller import KioskController
from kiosk.gateway import LastTopUp, WalletBalance
from kiosk.tokens import make_qr_token
from kiosk.view import Screen, WalletView
from tests.kiosk.conftest import QR_KEY, Rig
from tests.kiosk.support import CentralServer, free_port

_lifetimes = itertools.count(60)  # a fresh token each time: the same one twice is a replay


def identify(kiosk: KioskController, unit: str) -> None:
    kiosk.qr_scanned(make_qr_token(QR_KEY, unit, int(time.time()) + next(_lifetimes)))
    assert kiosk.view.screen == Screen.OVERVIEW, kiosk.view


def wallet(kiosk: KioskController, purpose: str) -> WalletView:
    return next(w for w in kiosk.view.wallets if w.purpose == purpose)


def local_today(rig: Rig) -> str:
    return datetime.now(ZoneInfo(rig.settings.timezone)).date().isoformat()


def spend_and_top_up(central: CentralServer, unit: str, *, charge: int, top_up: int) -> None:
    central.call(
        "POST", "/v1/ledger/charges",
        {"unit": unit, "wallet": "electricity", "amount": charge, "currency": "CNY"},
        key=f"usage-charge-{unit}",
    )  # fmt: skip
    central.call(
        "POST", "/v1/ledger/top-ups",
        {"unit": unit, "wallet": "electricity", "amount": top_up, "currency": "CNY",
         "method": "staff_desk"},
        key=f"usage-top-up-{unit}",
    )  # fmt: skip


def test_each_wallet_has_its_week_of_spend_and_last_top_up_from_the_ledger(rig: Rig) -> None:
    kiosk = rig.kiosk()
    identify(kiosk, "B-1001")
    before = dict(wallet(kiosk, "electricity").spend_by_day)
    kiosk.go_idle()
    spend_and_top_up(rig.central, "B-1001", charge=1234, top_up=4321)
    identify(kiosk, "B-1001")
    electricity = wallet(kiosk, "electricity")
    today = local_today(rig)
    days = [day for day, _ in electricity.spend_by_day]
    assert len(days) == 7
    assert days[-1] == today  # oldest first, ending on the estate's today
    assert days == sorted(days)
    spent = dict(electricity.spend_by_day)
    assert spent[today] == before.get(today, 0) + 1234
    assert (electricity.last_top_up_on, electricity.last_top_up_amount) == (today, 4321)
    water = wallet(kiosk, "water")
    assert len(water.spend_by_day) == 7  # every wallet says, spent or not

    kiosk.show_usage("electricity")
    assert kiosk.view.usage_wallet == "electricity"
    kiosk.back()  # from the week back to the wallets, still identified
    assert (kiosk.view.screen, kiosk.view.usage_wallet) == (Screen.OVERVIEW, "")
    kiosk.show_usage("water")
    kiosk.choose_wallet("water")  # its top-up from the week's page
    assert (kiosk.view.screen, kiosk.view.usage_wallet) == (Screen.TOP_UP, "")
    kiosk.back()
    kiosk.show_usage("no_such_wallet")
    assert kiosk.view.usage_wallet == ""
    kiosk.show_usage("gas")
    kiosk.go_idle()
    assert kiosk.view.usage_wallet == ""
    kiosk.show_usage("gas")  # nobody is there
    assert kiosk.view.usage_wallet == ""


def test_offline_the_week_comes_from_the_cache_with_its_age(rig: Rig) -> None:
    online = rig.kiosk()
    spend_and_top_up(rig.central, "B-1101", charge=777, top_up=888)
    identify(online, "B-1101")
    seen = wallet(online, "electricity")
    rig.shutdown(online)
    kiosk = rig.kiosk(base_url=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    identify(kiosk, "B-1101")
    assert not kiosk.view.online
    assert kiosk.view.balances_at is not None
    assert datetime.now(UTC) - kiosk.view.balances_at < timedelta(minutes=5)
    cached = wallet(kiosk, "electricity")
    assert cached.spend_by_day == seen.spend_by_day
    assert (cached.last_top_up_on, cached.last_top_up_amount) == (local_today(rig), 888)
    kiosk.show_usage("electricity")
    assert kiosk.view.usage_wallet == "electricity"


def test_a_cache_row_from_an_older_kiosk_still_loads(rig: Rig) -> None:
    kiosk = rig.kiosk()
    old = [  # what a kiosk stored before the recent-usage fields existed
        {"purpose": "electricity", "currency": "CNY", "balance": 1500, "available": 3500,
         "floor": -2000, "days_left": 4, "supply": "on", "restore_pending": False},
        {"purpose": "water", "currency": "CNY", "balance": 800, "available": 800, "floor": 0},
    ]  # fmt: skip
    kiosk.journal._db.execute(
        "INSERT OR REPLACE INTO kiosk_wallet_cache (unit, at, body) VALUES (?, ?, ?)",
        ("B-1102", "2026-11-20T08:00:00+00:00", json.dumps(old)),
    )
    found = kiosk.journal.cached_wallets("B-1102")
    assert found is not None
    wallets, at = found
    assert at == datetime(2026, 11, 20, 8, tzinfo=UTC)
    assert wallets[0] == WalletBalance("electricity", "CNY", 1500, 3500, -2000, 4, "on", False)
    assert (wallets[1].spend_by_day, wallets[1].last_top_up) == ((), None)
    # And a new row goes through the cache whole.
    fresh = WalletBalance(
        "gas", "CNY", 900, 900, 0, spend_by_day=(("2026-11-25", 120),),
        last_top_up=LastTopUp("2026-11-24T19:05:00+08:00", 5000, "cash"),
    )  # fmt: skip
    kiosk.journal.cache_wallets("B-1102", [fresh])
    assert kiosk.journal.cached_wallets("B-1102") is not None
    assert kiosk.journal.cached_wallets("B-1102")[0] == [fresh]  # type: ignore[index]


def test_in_the_window_a_wallet_touched_shows_its_week(rig: Rig) -> None:
    from tests.kiosk.kivy_support import find_button, labels, tap
    from tests.kiosk.test_end_to_end import Kiosk, qr_token, shown_until

    spend_and_top_up(rig.central, "B-1201", charge=2500, top_up=6000)
    kiosk = Kiosk(rig)
    app: KioskApp = kiosk.app
    try:
        kiosk.controller.submit("qr_scanned", text=qr_token("B-1201"))
        shown_until(app, lambda v: v.screen == Screen.OVERVIEW)
        texts = " | ".join(lbl.text for lbl in labels(app.root_widget.manager.current_screen))
        today = datetime.now(ZoneInfo(rig.settings.timezone)).date()
        assert f"Last top-up {today.day} {today:%b}\n60.00 CNY" in texts, texts
        tap(find_button(app.root_widget, "usage:electricity"))
        shown_until(app, lambda v: v.usage_wallet == "electricity")
        texts = " | ".join(lbl.text for lbl in labels(app.root_widget.manager.current_screen))
        assert "Electricity: the last 7 days" in texts
        assert "Today" in texts
        shown = app.shown
        assert shown is not None
        week = next(w for w in shown.wallets if w.purpose == "electricity").spend_by_day
        assert week[-1][1] >= 2500  # today's charge is in today's bar
        assert f"{week[-1][1] / 100:.2f} CNY" in texts
        tap(find_button(app.root_widget, "back"))
        shown_until(app, lambda v: v.screen == Screen.OVERVIEW and not v.usage_wallet)
        tap(find_button(app.root_widget, "done"))
        shown_until(app, lambda v: v.screen == Screen.IDLE)
    finally:
        kiosk.kill(rig)
