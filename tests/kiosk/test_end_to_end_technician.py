"""End to end, technician mode: a staff card issued on the real server, tapped as a virtual
card through pcscd and vpcd, opens the technician screen of the real Kivy window
(offscreen); real touches run the doctor and the test receipt, and Exit goes back to idle."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from central.estate.demo import demo_card_number
from kiosk.app import ControllerThread, KioskApp
from kiosk.fonts import register_default_font
from kiosk.view import Screen
from terminal_drivers.card_reader.demo_keys import DEMO_MASTER_KEY, DEMO_SYSTEM_ID
from terminal_drivers.card_reader.device import CardReader
from terminal_drivers.card_reader.simulator import CardSimulator
from tests.kiosk.conftest import Rig
from tests.kiosk.kivy_support import Window, find_button, open_window, tap
from tests.kiosk.test_end_to_end import shown_until, texts
from tests.kiosk.test_technician import issue_staff_card
from tests.terminal_drivers.card_reader.conftest import TEST_READER


@pytest.fixture
def staff_card(rig: Rig) -> tuple[str, int]:
    return issue_staff_card(rig.central)  # before the kiosk starts: in its first snapshot


@pytest.fixture
def window_app(
    rig: Rig, card_sim: CardSimulator, staff_card: tuple[str, int]
) -> Iterator[KioskApp]:
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


def test_a_technician_card_opens_the_screen_the_doctor_runs_and_exit_goes_idle(
    window_app: KioskApp, rig: Rig, card_sim: CardSimulator, staff_card: tuple[str, int]
) -> None:
    app = window_app
    number, card_id = staff_card
    shown_until(app, lambda v: v.screen == Screen.IDLE)
    card_sim.tap(number)
    view = shown_until(app, lambda v: v.screen == Screen.TECHNICIAN)
    assert view.technician_card == card_id
    assert f"Staff card {card_id}" in texts(app)
    assert "Journal backlog: 0" in texts(app)
    card_sim.remove()

    tap(find_button(app.root_widget, "doctor"))
    view = shown_until(app, lambda v: len(v.doctor) == 4)
    assert all(c.fitted and c.ok for c in view.doctor), view.doctor
    shown = texts(app)
    assert "Doctor: 4 of 4 devices OK." in shown
    assert shown.count("Self-test OK") == 4, shown
    assert "status DISABLE, version SIM-ID003" in shown  # the bill acceptor's own answer

    rig.printer_sim.paper_out()
    tap(find_button(app.root_widget, "doctor"))
    shown_until(app, lambda v: any(c.name == "printer" and not c.ok for c in v.doctor))
    shown = texts(app)
    assert "Doctor: 3 of 4 devices OK." in shown
    assert "Self-test failed: the printer is out of paper" in shown
    assert "What to do: load a new roll" in shown
    rig.printer_sim.load_paper()

    printed = len(rig.printer_sim.receipts)
    tap(find_button(app.root_widget, "test_receipt"))
    shown_until(app, lambda v: v.message == "test_printed")
    assert len(rig.printer_sim.receipts) == printed + 1
    assert "card_reader    OK" in rig.printer_sim.receipts[-1]

    tap(find_button(app.root_widget, "exit"))
    view = shown_until(app, lambda v: v.screen == Screen.IDLE)
    assert view.technician_card == 0
    assert rig.controllers[0].journal.events("technician_in") == [
        {"method": "staff_card", "staff_card": card_id}
    ]
    # The doctor's reader test left the reader working: a resident's card opens the household.
    card_sim.tap(demo_card_number("A", 11, 2))
    view = shown_until(app, lambda v: v.screen == Screen.OVERVIEW)
    assert view.unit == "A-1102"
