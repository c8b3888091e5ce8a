"""End to end: a real Kivy window (offscreen), the controller on its own thread, a virtual
card through pcscd, touches on the screens, notes through the ID-003 simulator, the receipt
in the printer simulator and the credit in the central server's ledger."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from central.estate.demo import demo_card_number
from kiosk.app import ControllerThread, KioskApp
from kiosk.fonts import register_default_font
from kiosk.tokens import make_qr_token
from kiosk.view import KioskView, Screen
from terminal_drivers.card_reader.demo_keys import DEMO_MASTER_KEY, DEMO_SYSTEM_ID
from terminal_drivers.card_reader.device import CardReader
from terminal_drivers.card_reader.simulator import CardSimulator
from tests.kiosk.conftest import QR_KEY, Rig
from tests.kiosk.kivy_support import Window, find_button, labels, open_window, pump, tap
from tests.kiosk.support import free_port
from tests.terminal_drivers.card_reader.conftest import TEST_READER


@pytest.fixture
def window_app(rig: Rig, card_sim: CardSimulator) -> Iterator[KioskApp]:
    reader = CardReader.open(
        f"pcsc://{TEST_READER}", master_key=DEMO_MASTER_KEY, system_id=DEMO_SYSTEM_ID
    )
    assert reader.wait_for_removal(3)
    controller = rig.kiosk(devices=rig.devices(card=reader))
    register_default_font()
    open_window()
    app = KioskApp(controller)
    root = app.build()
    Window.add_widget(root)
    thread = ControllerThread(controller, period=0.05)
    thread.start()
    try:
        yield app
    finally:
        thread.stop()
        Window.remove_widget(root)


def shown_until(
    app: KioskApp, done: Callable[[KioskView], bool], timeout: float = 8.0
) -> KioskView:
    deadline = time.monotonic() + timeout
    while app.shown is None or not done(app.shown):
        assert time.monotonic() < deadline, f"the window shows {app.shown}"
        pump(1)
        time.sleep(0.01)
    pump(2)
    return app.shown


def qr_token(unit: str) -> str:
    return make_qr_token(QR_KEY, unit, int(time.time()) + 60)


def texts(app: KioskApp) -> str:
    return " | ".join(label.text for label in labels(app.root_widget.manager.current_screen))


def test_a_card_tap_then_notes_top_up_electricity(
    window_app: KioskApp, rig: Rig, card_sim: CardSimulator
) -> None:
    app = window_app
    before = rig.central.balance("B-0501", "electricity")
    shown_until(app, lambda v: v.screen == Screen.IDLE)
    tap(find_button(app.root_widget, "language:zh_CN"))
    shown_until(app, lambda v: v.language == "zh_CN")
    assert "请刷卡或出示二维码" in texts(app)

    card_sim.tap(demo_card_number("B", 5, 1))
    shown_until(app, lambda v: v.screen == Screen.OVERVIEW)
    assert "房号 B-0501" in texts(app)
    assert f"{before / 100:.2f} CNY" in texts(app)

    tap(find_button(app.root_widget, "top_up:electricity"))
    shown_until(app, lambda v: v.screen == Screen.TOP_UP)
    assert "本机不找零" in texts(app)  # said before any note goes in
    tap(find_button(app.root_widget, "start_cash"))
    shown_until(app, lambda v: v.cash_active)

    rig.bill_sim.insert(value=20)
    shown_until(app, lambda v: v.inserted == 2000)
    assert "已投入：20.00 CNY" in texts(app)
    rig.bill_sim.insert(value=50)
    shown_until(app, lambda v: v.inserted == 7000)
    assert "已投入：70.00 CNY" in texts(app)

    tap(find_button(app.root_widget, "finish"))
    view = shown_until(app, lambda v: v.screen == Screen.RECEIPT)
    assert view.receipt is not None
    assert view.receipt.printed
    assert f"充值后余额：{(before + 7000) / 100:.2f} CNY" in texts(app)
    receipt = rig.printer_sim.receipts[-1]
    assert "Unit     B-0501" in receipt
    assert "Amount   70.00 CNY" in receipt
    assert "Card     **0501" in receipt
    assert rig.central.balance("B-0501", "electricity") == before + 7000
    assert [line["amount"] for line in rig.central.kiosk_top_ups("B-0501", "electricity")] == [7000]

    tap(find_button(app.root_widget, "done"))
    shown_until(app, lambda v: v.screen == Screen.IDLE)


class Kiosk:
    """A kiosk process as the window sees it: controller thread, app, root widget."""

    def __init__(self, rig: Rig, *, base_url: str = "") -> None:
        self.controller = rig.kiosk(base_url=base_url)
        register_default_font()
        open_window()
        self.app = KioskApp(self.controller)
        self.root = self.app.build()
        Window.add_widget(self.root)
        self.thread = ControllerThread(self.controller, period=0.05)
        self.thread.start()

    def kill(self, rig: Rig) -> None:
        """Gone at once: no finish, no goodbye (the journal file is all that is left)."""
        self.thread.stop()
        Window.remove_widget(self.root)
        rig.shutdown(self.controller)


def test_offline_the_banner_shows_and_the_cash_is_pending_then_applied(rig: Rig) -> None:
    warm = rig.kiosk()  # a snapshot of the unit's balances while online
    warm.qr_scanned(qr_token("A-0901"))
    warm.step()
    rig.shutdown(warm)
    before = rig.central.balance("A-0901", "water")
    kiosk = Kiosk(rig, base_url=f"http://127.0.0.1:{free_port()}")  # the server is gone
    try:
        app = kiosk.app
        kiosk.controller.submit("qr_scanned", text=qr_token("A-0901"))
        shown_until(app, lambda v: v.screen == Screen.OVERVIEW)
        assert app.root_widget.banner.text.startswith("Offline")
        tap(find_button(app.root_widget, "top_up:water"))
        shown_until(app, lambda v: v.screen == Screen.TOP_UP)
        tap(find_button(app.root_widget, "start_cash"))
        shown_until(app, lambda v: v.cash_active)
        rig.bill_sim.insert(value=10)
        shown_until(app, lambda v: v.inserted == 1000)
        tap(find_button(app.root_widget, "finish"))
        shown_until(app, lambda v: v.screen == Screen.RECEIPT)
        assert "the balance will update when the server is reachable" in texts(app)
        assert "Balance  pending" in rig.printer_sim.receipts[-1]
        assert rig.central.balance("A-0901", "water") == before
        kiosk.controller.gateway.base_url = rig.central.base_url  # type: ignore[attr-defined]
        shown_until(app, lambda v: v.online)
        assert app.root_widget.banner.text == ""
        deadline = time.monotonic() + 5
        while rig.central.balance("A-0901", "water") != before + 1000:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        kiosk.kill(rig)
    assert rig.central.balance("A-0901", "water") == before + 1000


def test_a_kiosk_killed_after_a_note_was_stacked_credits_it_after_restart(rig: Rig) -> None:
    before = rig.central.balance("A-0902", "gas")
    kiosk = Kiosk(rig)
    app = kiosk.app
    kiosk.controller.submit("qr_scanned", text=qr_token("A-0902"))
    shown_until(app, lambda v: v.screen == Screen.OVERVIEW)
    tap(find_button(app.root_widget, "top_up:gas"))
    shown_until(app, lambda v: v.screen == Screen.TOP_UP)
    tap(find_button(app.root_widget, "start_cash"))
    shown_until(app, lambda v: v.cash_active)
    rig.bill_sim.insert(value=50)
    shown_until(app, lambda v: v.inserted == 5000)
    kiosk.kill(rig)
    assert rig.central.balance("A-0902", "gas") == before
    restarted = Kiosk(rig)
    try:
        shown_until(restarted.app, lambda v: v.screen == Screen.IDLE)
        assert rig.central.balance("A-0902", "gas") == before + 5000
    finally:
        restarted.kill(rig)
