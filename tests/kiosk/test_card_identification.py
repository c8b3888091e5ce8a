"""Identification by card through the real driver, pcscd and the virtual card."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from central.db.schema import credentials
from central.estate.demo import demo_card_number
from kiosk.controller import KioskController
from kiosk.view import Screen
from terminal_drivers.card_reader.demo_keys import DEMO_MASTER_KEY, DEMO_SYSTEM_ID
from terminal_drivers.card_reader.device import CardReader
from terminal_drivers.card_reader.simulator import CardSimulator
from tests.kiosk.conftest import Rig
from tests.terminal_drivers.card_reader.conftest import TEST_READER


@pytest.fixture
def kiosk(rig: Rig, card_sim: CardSimulator) -> KioskController:
    reader = CardReader.open(
        f"pcsc://{TEST_READER}", master_key=DEMO_MASTER_KEY, system_id=DEMO_SYSTEM_ID
    )
    assert reader.wait_for_removal(3)
    return rig.kiosk(devices=rig.devices(card=reader))


def until_screen(kiosk: KioskController, screen: Screen, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while kiosk.view.screen != screen:
        assert time.monotonic() < deadline, kiosk.view
        kiosk.step()


def test_a_genuine_card_opens_its_household(
    kiosk: KioskController, card_sim: CardSimulator
) -> None:
    card_sim.tap(demo_card_number("B", 3, 2))
    until_screen(kiosk, Screen.OVERVIEW)
    assert kiosk.view.unit == "B-0302"
    assert kiosk.view.card == "**0302"


def test_a_clone_and_a_uid_only_card_are_refused_and_logged(
    kiosk: KioskController, card_sim: CardSimulator
) -> None:
    card_sim.tap_clone(demo_card_number("A", 1, 1))
    until_screen(kiosk, Screen.IDENTIFY)
    assert kiosk.view.message == "card_clone"
    card_sim.remove()
    kiosk.go_idle()
    card_sim.tap_uid_only(bytes.fromhex("0A0B0C0D"))
    until_screen(kiosk, Screen.IDENTIFY)
    assert kiosk.view.message == "card_low_assurance"
    assert kiosk.journal.count("identify_refused") == 2


def test_a_lost_card_is_refused(rig: Rig, kiosk: KioskController, card_sim: CardSimulator) -> None:
    card = demo_card_number("A", 2, 2)
    with rig.central.db.write() as conn:
        conn.execute(update(credentials).where(credentials.c.value == card).values(status="lost"))
    kiosk._refresh_credentials(force=True)
    card_sim.tap(card)
    until_screen(kiosk, Screen.IDENTIFY)
    assert kiosk.view.message == "card_lost"
