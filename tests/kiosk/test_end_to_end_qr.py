"""End to end, QR payment: a real Kivy window (offscreen), touches, the sandbox provider in
its own process calling back over HTTP, the credit in the central server's ledger.

The resident's banking app pays after the kiosk's countdown ran out and the order was
cancelled; the provider says "paid" twice. The kiosk credits it once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from kiosk.view import Screen
from tests.central.payments.support import SECRET, Sandbox
from tests.kiosk.conftest import Rig
from tests.kiosk.kivy_support import find_button, tap
from tests.kiosk.test_end_to_end import Kiosk, qr_token, shown_until, texts

COUNTDOWN_S = 3


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    process = Sandbox.start()
    yield process
    process.stop()


def test_a_qr_payment_after_the_countdown_is_credited_once(rig: Rig, sandbox: Sandbox) -> None:
    rig.settings = replace(
        rig.settings,
        payment_provider_url=sandbox.url,
        payment_secret=SECRET,
        qr_payment_timeout_s=COUNTDOWN_S,
    )
    before = rig.central.balance("B-0702", "gas")
    kiosk = Kiosk(rig)
    try:
        app = kiosk.app
        kiosk.controller.submit("qr_scanned", text=qr_token("B-0702"))
        shown_until(app, lambda v: v.screen == Screen.OVERVIEW)
        tap(find_button(app.root_widget, "top_up:gas"))
        view = shown_until(app, lambda v: v.screen == Screen.TOP_UP and v.qr_payment)
        amount = view.preset_amounts[0]
        tap(find_button(app.root_widget, f"qr:{amount}"))
        view = shown_until(app, lambda v: v.qr_order is not None)
        assert view.qr_order is not None
        order_id = view.qr_order.order_id
        assert "Scan this code" in texts(app)

        # Nobody pays in time: the countdown runs out and the order is cancelled.
        view = shown_until(
            app, lambda v: v.qr_order is None and v.message == "qr_cancelled", COUNTDOWN_S + 5
        )
        assert sandbox.order(order_id)["status"] == "cancelled"
        assert "Nothing was charged" in texts(app)
        assert rig.central.balance("B-0702", "gas") == before

        # The banking app paid anyway, and the provider tells the kiosk twice.
        sandbox.post(f"/orders/{order_id}/pay", {"callback_delay": 0.1})
        sandbox.post(f"/orders/{order_id}/pay", {"callback_delay": 0.4})
        deadline = time.monotonic() + 10
        while rig.central.balance("B-0702", "gas") != before + amount:
            assert time.monotonic() < deadline, "the late payment was never credited"
            time.sleep(0.05)
        time.sleep(1.0)  # the second callback has been answered by now
        shown_until(app, lambda v: v.screen in (Screen.TOP_UP, Screen.RECEIPT, Screen.IDLE))
    finally:
        kiosk.kill(rig)
    assert rig.central.balance("B-0702", "gas") == before + amount
    top_ups = rig.central.kiosk_top_ups("B-0702", "gas")
    assert [line["amount"] for line in top_ups] == [amount]
