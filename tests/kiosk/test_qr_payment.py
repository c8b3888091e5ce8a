"""QR payment against the sandbox provider running as its own process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import requests

from kiosk.controller import KioskController
from kiosk.payments import signed_headers
from kiosk.view import Screen
from tests.kiosk.conftest import Rig
from tests.kiosk.test_controller import identify, until

SECRET = b"sandbox-shared-secret-for-tests"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "kiosk.sandbox_provider", "--secret-hex", SECRET.hex()],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    url = re.search(r"http://\S+", line)
    assert url, line
    yield url.group(0)
    process.terminate()
    process.wait(10)


def control(sandbox: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        sandbox + path, data=json.dumps(body or {}).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


@pytest.fixture
def kiosk(rig: Rig, sandbox: str) -> KioskController:
    rig.settings = replace(
        rig.settings, payment_provider_url=sandbox, payment_secret=SECRET, qr_payment_timeout_s=30
    )
    return rig.kiosk()


def test_a_qr_payment_within_the_countdown_credits_once_with_a_receipt(
    rig: Rig, kiosk: KioskController, sandbox: str
) -> None:
    before = rig.central.balance("B-0201", "electricity")
    identify(kiosk, "B-0201")
    kiosk.choose_wallet("electricity")
    assert kiosk.view.qr_payment
    kiosk.start_qr(5000)
    order = kiosk.view.qr_order
    assert order is not None
    assert order.qr.startswith("https://sandbox.pay.example/q/")
    control(sandbox, f"/orders/{order.order_id}/pay")
    until(kiosk, lambda: kiosk.view.screen == Screen.RECEIPT)
    assert rig.central.balance("B-0201", "electricity") == before + 5000
    assert "Payment  provider" in rig.printer_sim.receipts[-1]
    assert control(sandbox, f"/orders/{order.order_id}/replay")["kiosk_answered"] == 401
    for _ in range(5):
        kiosk.step()
    assert rig.central.balance("B-0201", "electricity") == before + 5000


def test_a_payment_after_the_countdown_is_credited_exactly_once(
    rig: Rig, kiosk: KioskController, sandbox: str
) -> None:
    now = [0.0]
    kiosk.clock = lambda: now[0]
    before = rig.central.balance("B-0202", "water")
    identify(kiosk, "B-0202")
    kiosk.choose_wallet("water")
    kiosk.start_qr(2000)
    order = kiosk.view.qr_order
    assert order is not None
    now[0] += 31  # the countdown runs out: the order is cancelled with the provider
    kiosk.step()
    assert kiosk.view.qr_order is None
    assert kiosk.view.message == "qr_cancelled"
    kiosk.go_idle()
    # The resident's banking app paid anyway, and the provider says so twice.
    control(sandbox, f"/orders/{order.order_id}/pay", {"callback_delay": 0.1})
    control(sandbox, f"/orders/{order.order_id}/pay", {"callback_delay": 0.3})
    until(kiosk, lambda: rig.central.balance("B-0202", "water") == before + 2000)
    time.sleep(0.6)
    for _ in range(5):
        kiosk.step()
    assert rig.central.balance("B-0202", "water") == before + 2000
    assert kiosk.journal.qr_order(order.order_id)["state"] == "paid"  # type: ignore[index]


def test_a_forged_callback_is_refused(rig: Rig, kiosk: KioskController) -> None:
    before = rig.central.balance("B-0301", "gas")
    identify(kiosk, "B-0301")
    kiosk.choose_wallet("gas")
    kiosk.start_qr(3000)
    order = kiosk.view.qr_order
    assert order is not None
    assert kiosk.callbacks is not None
    body = json.dumps(
        {"order_id": order.order_id, "amount": 3000, "status": "paid", "ref": "x"}
    ).encode()
    forged = signed_headers(b"not the shared secret", body)
    answer = requests.post(kiosk.callbacks.url, data=body, headers=forged, timeout=5)
    assert answer.status_code == 401
    stale = signed_headers(SECRET, body, now=time.time() - 3600)
    answer = requests.post(kiosk.callbacks.url, data=body, headers=stale, timeout=5)
    assert answer.status_code == 401
    for _ in range(5):
        kiosk.step()
    assert kiosk.view.screen == Screen.TOP_UP
    assert rig.central.balance("B-0301", "gas") == before
    kiosk.cancel_qr()
    assert kiosk.view.message == "qr_cancelled"


def test_qr_payment_is_not_offered_offline(rig: Rig, sandbox: str) -> None:
    online = rig.kiosk()
    identify(online, "B-0302")
    rig.shutdown(online)
    rig.settings = replace(rig.settings, payment_provider_url=sandbox, payment_secret=SECRET)
    kiosk = rig.kiosk(base_url="http://127.0.0.1:9")
    identify(kiosk, "B-0302")
    kiosk.choose_wallet("electricity")
    assert not kiosk.view.online
    assert not kiosk.view.qr_payment
