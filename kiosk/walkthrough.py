"""The demo's scripted walk-through: the real kiosk, simulated devices, real touches.

A resident taps a demo card (through pcscd and the virtual card when they are
available, else shows a QR token), opens the overview, tops up electricity with
a 20 and a 50 note and a 1.00 coin, finishes and takes the receipt. Each screen
is saved as a PNG; the receipt's text comes from the printer simulator. The
window is offscreen when there is no display.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk import terminal
from kiosk.controller import KioskController
from kiosk.devices import Devices
from kiosk.gateway import HttpCentral
from kiosk.journal import KioskJournal
from kiosk.settings import KioskSettings
from kiosk.tokens import make_qr_token
from kiosk.view import KioskView, Screen
from offline_queue.identity import Identity

log = logging.getLogger(__name__)

DEMO_QR_KEY = b"DEMO-ONLY-QR-KEY"  # the demo residents' app signs QR tokens with this
DEMO_UNIT, DEMO_CARD = "A-0101", "C10101"  # demo_card_number("A", 1, 1)


@dataclass
class WalkThrough:
    screenshots: list[Path] = field(default_factory=list)
    receipt: str = ""
    unit: str = DEMO_UNIT
    identified_by: str = ""
    inserted: int = 0
    balance_after: int | None = None


def demo_settings(
    server_url: str, state_dir: Path, journal: Path, *, terminal_id: str = "kiosk-lobby-a"
) -> KioskSettings:
    from terminal_drivers.card_reader.demo_keys import DEMO_MASTER_KEY, DEMO_SYSTEM_ID

    return KioskSettings(
        terminal_id=terminal_id,
        server_url=server_url,
        state_dir=str(state_dir),
        journal_path=str(journal),
        bill_acceptor_url="sim://bill-acceptor",
        coin_acceptor_url="sim://coin-acceptor",
        printer_url="sim://printer",
        card_master_key=DEMO_MASTER_KEY,
        card_system_id=DEMO_SYSTEM_ID,
        qr_token_key=DEMO_QR_KEY,
        technician_pin="2468",
        notices=("Water supply maintenance in Tower B on 28 November, 09:00-12:00.",),
    )


def _simulator(device: Any) -> Any:
    """The in-process simulator behind a ``sim://`` device."""
    return device.transport.simulator


def _card_simulator() -> tuple[Any, str] | None:
    """The virtual card in reader ``Virtual PCD 00 00`` (pcscd started if needed), or None."""
    try:
        from terminal_drivers.card_reader.simulator import CardSimulator

        sim = CardSimulator(start_pcscd=True)
        return sim, sim.start()
    except Exception as err:  # no pcscd, no vpcd, no pyscard: the QR code still works
        log.warning("no virtual card reader (%s): identifying by QR code instead", err)
        return None


def enrolled(state_dir: Path, *, server: str, code: str) -> Identity:
    """The kiosk's identity in ``state_dir``: enrolled with ``code`` when one is given
    (a demo run against a fresh server), else the one enrolled before."""
    if code:
        return terminal.enrol(state_dir, server=server, code=code, force=True)
    return terminal.load(state_dir)[0]


def controller_for(
    settings: KioskSettings, identity: Identity, devices: Devices
) -> KioskController:
    """The kiosk signed as ``identity``, its journal under the same key."""
    return KioskController(
        settings,
        gateway=HttpCentral(settings.server_url, identity=identity),
        journal=KioskJournal(settings.journal_path, identity),
        devices=devices,
    )


def run(server_url: str, code: str, directory: Path) -> WalkThrough:
    """Run the walk-through (the kiosk enrolled with ``code`` unless it already is);
    screenshots go to ``directory/screenshots``."""
    """Run the walk-through; screenshots go to ``directory/screenshots``."""
    from kiosk.window import prepare_environment

    prepare_environment()
    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch

    from kiosk.app import ControllerThread, KioskApp
    from kiosk.fonts import register_default_font
    from kiosk.window import open_window, pump, screenshot

    card = _card_simulator()
    identity = enrolled(directory / "terminal", server=server_url, code=code)
    settings = demo_settings(
        # A journal never changes hands: one file per enrolled identity.
        server_url, directory / "terminal", directory / f"journal-{identity.terminal_id}.sqlite3",
        terminal_id=identity.terminal_id,
    )  # fmt: skip
    if card is not None:
        from dataclasses import replace

        settings = replace(settings, card_reader_url=card[1])
    devices = Devices.open(settings)
    controller = controller_for(settings, identity, devices)
    register_default_font()
    open_window()
    app = KioskApp(controller)
    root = app.build()
    Window.add_widget(root)
    thread = ControllerThread(controller, period=0.05)
    thread.start()
    result = WalkThrough()
    shots = directory / "screenshots"

    def until(done: Callable[[KioskView], bool], timeout: float = 10.0) -> KioskView:
        deadline = time.monotonic() + timeout
        while app.shown is None or not done(app.shown):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the kiosk did not get there; it shows {app.shown}")
            pump(1)
            time.sleep(0.01)
        pump(3)
        return app.shown

    def touch(name: str) -> None:
        from kiosk.app import Touch

        stack = [root]
        while stack:
            widget = stack.pop()
            if isinstance(widget, Touch) and widget.name == name:
                x, y = widget.to_window(*widget.center)
                down = UnitTestTouch(x, y)
                down.touch_down()
                down.touch_up()
                pump(2)
                return
            stack.extend(widget.children)
        raise RuntimeError(f"no button {name!r} on the screen")

    def shot(name: str) -> None:
        result.screenshots.append(
            screenshot(shots / f"{len(result.screenshots) + 1:02d}-{name}.png")
        )

    try:
        until(lambda v: v.screen == Screen.IDLE)
        shot("idle")
        if card is not None:
            for _ in range(3):  # a card "pulled" mid-read (pcscd was slow): tap it again
                card[0].tap(DEMO_CARD)
                view = until(lambda v: v.screen in (Screen.OVERVIEW, Screen.IDENTIFY))
                if view.screen == Screen.OVERVIEW:
                    break
                card[0].remove()
            result.identified_by = f"card {DEMO_CARD} through pcscd"
        else:
            controller.submit(
                "qr_scanned", text=make_qr_token(DEMO_QR_KEY, DEMO_UNIT, int(time.time()) + 60)
            )
            result.identified_by = "QR token"
        until(lambda v: v.screen == Screen.OVERVIEW)
        shot("overview")
        if card is not None:
            card[0].remove(wait=False)
        touch("top_up:electricity")
        until(lambda v: v.screen == Screen.TOP_UP)
        shot("top-up")
        touch("start_cash")
        until(lambda v: v.cash_active)
        bill, coin = _simulator(devices.bill), _simulator(devices.coin)
        bill.insert(value=20)
        until(lambda v: v.inserted == 2000)
        bill.insert(value=50)
        until(lambda v: v.inserted == 7000)
        coin.insert_coin(value=100)
        until(lambda v: v.inserted == 7100)
        shot("cash-inserted")
        touch("finish")
        view = until(lambda v: v.screen == Screen.RECEIPT)
        shot("receipt")
        result.inserted = view.inserted
        result.balance_after = view.receipt.balance_after if view.receipt else None
        printer = _simulator(devices.printer)
        result.receipt = printer.receipts[-1] if printer.receipts else ""
        touch("done")
        until(lambda v: v.screen == Screen.IDLE)
    finally:
        thread.stop()
        Window.remove_widget(root)
        devices.close()
        controller.journal.close()
        if card is not None:
            card[0].stop()
    return result
