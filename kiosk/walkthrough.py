"""The demo's scripted walk-through: the real kiosk, simulated devices, real touches.

A resident taps a demo card (through pcscd and the virtual card when they are
available, else shows a QR token), opens the overview, tops up electricity with
a 20 and a 50 note and a 1.00 coin, finishes and takes the receipt. Then the
cash collection: five taps on the estate's name and the demo PIN open
technician mode (the cash taken per denomination), the bill cassette is pulled
and put back, the kiosk journals its count (``cash_collected``) and uploads it
before the walk-through ends, so the back office can count the box. Each
screen is saved as a PNG; the receipt's text comes from the printer simulator.
The window is offscreen when there is no display.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.money import Money, exponent
from kiosk import terminal
from kiosk.controller import KioskController
from kiosk.devices import BILL, COIN, Devices
from kiosk.gateway import HttpCentral
from kiosk.journal import KioskJournal
from kiosk.settings import KioskSettings
from kiosk.tokens import make_qr_token
from kiosk.view import KioskView, Screen
from offline_queue.identity import Identity

log = logging.getLogger(__name__)

DEMO_QR_KEY = b"DEMO-ONLY-QR-KEY"  # the demo residents' app signs QR tokens with this
DEMO_UNIT, DEMO_CARD = "A-0101", "C10101"  # demo_card_number("A", 1, 1)
DEMO_TECHNICIAN_PIN = "2468"
UPLOAD_TIMEOUT_S = 20.0  # the journal's entries reach the server within this, or it fails


@dataclass
class WalkThrough:
    screenshots: list[Path] = field(default_factory=list)
    receipt: str = ""
    unit: str = DEMO_UNIT
    identified_by: str = ""
    inserted: int = 0
    balance_after: int | None = None
    terminal_id: str = ""
    currency: str = "CNY"
    # The pulled bill cassette as the kiosk journalled it: denomination -> notes.
    collected: dict[int, int] = field(default_factory=dict)
    coins_left: int = 0  # the coin box's cash: not part of a cassette's collection

    def collection_line(self) -> str:
        """``cash box pulled: 1 x 20.00, 1 x 50.00 (70.00 CNY)``, and what stays in."""
        places = exponent(self.currency)
        notes = ", ".join(
            f"{n} x {Money(d, self.currency).to_decimal():.{places}f}"
            for d, n in sorted(self.collected.items())
        )
        total = Money(sum(d * n for d, n in self.collected.items()), self.currency).format()
        line = f"cash box pulled: {notes or 'empty'} ({total})"
        if self.coins_left:
            line += (
                f"; the coin box's {Money(self.coins_left, self.currency).format()} "
                "is not part of it"
            )
        return line


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
        technician_pin=DEMO_TECHNICIAN_PIN,
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
    from kiosk.window import prepare_environment

    prepare_environment()
    from kivy.core.window import Window

    from kiosk.app import ControllerThread, KioskApp
    from kiosk.fonts import register_default_font
    from kiosk.window import open_window, pump, screenshot, tap

    card = _card_simulator()
    identity = enrolled(directory / "terminal", server=server_url, code=code)
    settings = demo_settings(
        # A journal never changes hands: one file per enrolled identity.
        server_url, directory / "terminal", directory / f"journal-{identity.terminal_id}.sqlite3",
        terminal_id=identity.terminal_id,
    )  # fmt: skip
    from dataclasses import replace

    # The devices' health is checked (a pulled cassette seen) and the journal uploaded
    # every second rather than every 10 and 5: the walk-through does not wait on them.
    settings = replace(settings, health_interval_s=1.0, sync_interval_s=1.0)
    if card is not None:
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
    result = WalkThrough(terminal_id=identity.terminal_id, currency=settings.currency)
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

    def find(found: Callable[[Any], bool], what: str) -> Any:
        """A widget on the window: the screens' and an open popup's (the PIN pad)."""
        stack = list(Window.children)
        while stack:
            widget = stack.pop()
            if found(widget):
                return widget
            stack.extend(widget.children)
        raise RuntimeError(f"no {what} on the screen; the kiosk shows {app.shown}")

    def touch(name: str) -> None:
        from kiosk.screens.widgets import Touch

        tap(find(lambda w: isinstance(w, Touch) and w.name == name, f"button {name!r}"))

    def until_true(done: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} within {timeout:.0f} s; the kiosk shows {app.shown}")
            pump(1)
            time.sleep(0.02)

    def shot(name: str) -> None:
        result.screenshots.append(
            screenshot(shots / f"{len(result.screenshots) + 1:02d}-{name}.png")
        )

    def collect_cash(result: WalkThrough) -> None:
        """Technician mode by the hidden gesture and PIN, the cassette pulled and put
        back, the kiosk's count journalled and on the server."""
        from kivy.uix.label import Label

        title = find(
            lambda w: isinstance(w, Label) and w.text == settings.estate_name, "estate name"
        )
        for _ in range(5):  # the hidden gesture: five taps on the estate's name
            tap(title)
        until_true(lambda: app.pin_pad is not None, "the five taps opened no PIN pad")
        pump(seconds=0.3)  # the PIN pad opens (its keys laid out where they are touched)
        shot("pin-pad")
        for key in (*DEMO_TECHNICIAN_PIN, "OK"):
            touch(f"pin:{key}")
        until(lambda v: v.screen == Screen.TECHNICIAN)
        pump(seconds=0.3)  # the PIN pad's popup fades out
        shot("technician")
        bill = _simulator(devices.bill)
        before = controller.journal.count("cash_collected")  # a kiosk run before may have some
        bill.remove_cassette()  # the ID-003 acceptor reports its cash box removed
        until_true(
            lambda: controller.journal.count("cash_collected") > before,
            "the kiosk journalled no cash_collected for the pulled cassette",
        )
        until(lambda v: v.cash_counts == () and any(d.name == BILL and not d.ok for d in v.devices))
        shot("technician-cassette-pulled")  # the count is reset, the acceptor waits for it
        bill.insert_cassette()  # an empty one back in
        until(lambda v: any(d.name == BILL and d.ok for d in v.devices))
        entry = [e for e in controller.journal.signed.entries() if e.kind == "cash_collected"][-1]
        result.collected = {int(d): int(n) for d, n in entry.body["counts"].items()}
        result.coins_left = sum(
            d * n for d, n in controller.journal.cash_by_denomination(COIN).items()
        )
        touch("exit")
        until(lambda v: v.screen == Screen.IDLE)
        # The controller's thread uploads the journal: the count must be on the server
        # before this process ends, for the back office to count the box.
        deadline = time.monotonic() + UPLOAD_TIMEOUT_S
        while (backlog := controller.journal.backlog()) > 0:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the kiosk's journal did not reach the server at {server_url} within "
                    f"{UPLOAD_TIMEOUT_S:.0f} s: {backlog} entries still to upload "
                    "(the cash collection among them)"
                )
            pump(1)
            time.sleep(0.05)

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
        collect_cash(result)
    finally:
        thread.stop()
        Window.remove_widget(root)
        devices.close()
        controller.journal.close()
        if card is not None:
            card[0].stop()
    return result
