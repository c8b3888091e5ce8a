"""The demo's simulator panel: its buttons act on the kiosk's own simulators over their
control channels (loopback TCP), pressed with real touches in a real Kivy window."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from kiosk.controller import KioskController
from kiosk.devices import Devices
from kiosk.sim_panel import ACTIONS, Channels, Panel, build_panel, press
from kiosk.view import Screen
from tests.kiosk.conftest import Rig
from tests.kiosk.kivy_support import Window, find_button, open_window, pump, tap
from tests.kiosk.test_controller import qr


def until(kiosk: KioskController, done: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out; view: {kiosk.view}"
        kiosk.step()
        time.sleep(0.02)


@pytest.fixture
def simulated(rig: Rig) -> Iterator[tuple[KioskController, Panel]]:
    """A kiosk whose devices are ``sim://`` simulators, as ``kiosk run --simulated`` opens them."""
    settings = replace(
        rig.settings,
        bill_acceptor_url="sim://bill-acceptor",
        coin_acceptor_url="sim://coin-acceptor",
        printer_url="sim://printer",
    )
    devices = Devices.open(settings)
    assert all(devices.ok(name) for name in ("bill_acceptor", "coin_acceptor", "printer"))
    kiosk = rig.kiosk(devices=devices)
    panel = Panel.serve(devices)
    yield kiosk, panel
    panel.stop()


def test_insert_20_and_paper_out_act_on_the_kiosks_simulators(
    simulated: tuple[KioskController, Panel],
) -> None:
    kiosk, panel = simulated
    assert panel.channels.bill.startswith("tcp://127.0.0.1:")
    assert panel.channels.printer
    assert panel.channels.coin
    assert not panel.channels.card
    open_window()
    replies: list[str] = []
    root = build_panel(panel.channels, on_reply=replies.append)
    Window.add_widget(root)
    try:
        pump(3)
        assert find_button(root, "tap_card").disabled  # no virtual card in this kiosk
        kiosk.qr_scanned(qr("A-0401"))
        kiosk.step()
        assert kiosk.view.screen == Screen.OVERVIEW
        kiosk.choose_wallet("electricity")
        kiosk.start_cash()
        assert kiosk.view.notes_accepted

        tap(find_button(root, "insert_20"))
        assert replies == ["Insert 20: done"]
        until(kiosk, lambda: kiosk.view.inserted == 2000)
        assert kiosk.view.stacked == (2000,)

        assert kiosk.devices.printer is not None
        assert not kiosk.devices.printer.status().paper_out
        tap(find_button(root, "paper_out"))
        assert replies[-1] == "Paper out: done"
        assert kiosk.devices.printer.status().paper_out  # read by the driver, over the line
    finally:
        Window.remove_widget(root)


def test_a_panel_without_a_channel_or_with_a_dead_one_says_so() -> None:
    insert = next(a for a in ACTIONS if a.name == "insert_20")
    assert press(Channels(), insert) == "Insert 20: no bill simulator in this kiosk"
    from tests.kiosk.support import free_port

    dead = Channels(bill=f"tcp://127.0.0.1:{free_port()}")
    assert "not reachable" in press(dead, insert)
