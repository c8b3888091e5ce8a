"""The demo's simulator panel: a small window of buttons that act on the kiosk's simulators.

A running ``prepaid kiosk run --simulated --panel`` serves each simulator's
control channel (JSON lines over loopback TCP, ``terminal_drivers.simulation.control``)
and opens this panel as a process of its own, so the kiosk's window and loop
are left as they are on a terminal. A button sends one control command, exactly
what ``echo '{"cmd": ...}' | socat - TCP:...`` would: tap the demo card, insert
a note or a coin, jam the bill acceptor, take the printer's paper away.

    python -m kiosk.sim_panel --bill tcp://127.0.0.1:P --coin ... --printer ... --card ...
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kiosk.settings import KioskSettings
from terminal_drivers.simulation.control import ControlServer, send_command

log = logging.getLogger(__name__)

DEMO_CARD = "C10101"  # kiosk.walkthrough.DEMO_CARD: the demo estate's card for A-0101


@dataclass(frozen=True)
class Action:
    name: str  # the button's name, for tests and scripts
    label: str
    channel: str  # "bill", "coin", "printer" or "card"
    request: dict[str, Any] = field(hash=False)


ACTIONS = (
    Action("tap_card", f"Tap card {DEMO_CARD}", "card", {"cmd": "tap", "card": DEMO_CARD}),
    Action("remove_card", "Remove card", "card", {"cmd": "remove"}),
    Action("insert_20", "Insert 20", "bill", {"cmd": "insert", "value": 20}),
    Action("insert_50", "Insert 50", "bill", {"cmd": "insert", "value": 50}),
    Action("insert_100", "Insert 100", "bill", {"cmd": "insert", "value": 100}),
    Action("counterfeit", "Fake note", "bill", {"cmd": "counterfeit"}),
    Action("coin_1", "Coin 1.00", "coin", {"cmd": "coin", "value": 100}),
    Action("jam", "Jam notes", "bill", {"cmd": "jam"}),
    Action("clear_jam", "Clear jam", "bill", {"cmd": "clear"}),
    Action("paper_out", "Paper out", "printer", {"cmd": "paper_out"}),
    Action("load_paper", "Load paper", "printer", {"cmd": "load_paper"}),
)


class PanelError(RuntimeError):
    """A control channel could not be served or reached."""


@dataclass
class Channels:
    """Each simulator's control address (``tcp://host:port``); "" where there is none."""

    bill: str = ""
    coin: str = ""
    printer: str = ""
    card: str = ""

    def argv(self) -> list[str]:
        return [f"--{name}={address}" for name, address in vars(self).items() if address]


def press(channels: Channels, action: Action) -> str:
    """Send ``action``'s command; returns a line for the panel to show."""
    address = getattr(channels, action.channel)
    if not address:
        return f"{action.label}: no {action.channel} simulator in this kiosk"
    try:
        reply = send_command(address, action.request)
    except OSError as err:
        return f"{action.label}: {action.channel} simulator not reachable at {address}: {err}"
    if not reply.get("ok"):
        return f"{action.label}: refused: {reply.get('error', reply)}"
    return f"{action.label}: done"


def with_virtual_card(settings: KioskSettings) -> tuple[KioskSettings, Any]:
    """``settings`` with the virtual card's reader when the kiosk has no card reader of its
    own, and the card simulator the panel taps (None when pcscd or vpcd is missing)."""
    if settings.card_reader_url:
        return settings, None
    try:
        from terminal_drivers.card_reader.simulator import CardSimulator

        card = CardSimulator(start_pcscd=True)
        url = card.start()
    except Exception as err:  # no pcscd, vpcd or pyscard: the panel's card button is off
        log.warning("no virtual card for the panel (%s)", err)
        return settings, None
    return replace(settings, card_reader_url=url), card


class Panel:
    """The kiosk's side: control servers for its simulators, and the panel's process."""

    def __init__(self, servers: list[ControlServer], channels: Channels, card: Any = None) -> None:
        self.servers = servers
        self.channels = channels
        self.card = card  # the virtual card's simulator, stopped with the panel
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def serve(cls, devices: Any, card: Any = None) -> Panel:
        """Serve the control channel of each ``sim://`` device of ``devices`` (and ``card``,
        a ``CardSimulator``)."""
        servers: list[ControlServer] = []
        channels = Channels()
        targets = {
            "bill": getattr(devices.bill, "transport", None),
            "coin": getattr(devices.coin, "transport", None),
            "printer": getattr(devices.printer, "transport", None),
        }
        for name, transport in targets.items():
            simulator = getattr(transport, "simulator", None)  # only a sim:// transport has one
            if simulator is not None:
                servers.append(ControlServer(simulator))
                setattr(channels, name, servers[-1].start())
        if card is not None:
            servers.append(ControlServer(card))
            channels.card = servers[-1].start()
        return cls(servers, channels, card)

    def open_window(self) -> Panel:
        """The panel as its own process (its own Kivy window next to the kiosk's)."""
        command = [sys.executable, "-m", "kiosk.sim_panel", *self.channels.argv()]
        self.process = subprocess.Popen(command)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
        for server in self.servers:
            server.stop()
        if self.card is not None:
            self.card.stop()


def build_panel(channels: Channels, *, on_reply: Callable[[str], None] | None = None) -> Any:
    """The panel's widgets: a grid of buttons and a line saying what the last one did."""
    from kivy.metrics import mm, sp
    from kivy.uix.boxlayout import BoxLayout
    from kivy.uix.button import Button
    from kivy.uix.gridlayout import GridLayout
    from kivy.uix.label import Label

    root = BoxLayout(orientation="vertical", padding=mm(2), spacing=mm(2))
    grid = GridLayout(cols=2, spacing=mm(2))
    said = Label(text="Simulators: press a button", font_size=sp(16), size_hint_y=0.25)
    said.bind(size=lambda w, s: setattr(w, "text_size", (s[0], None)))

    def handler(action: Action) -> Callable[[Any], None]:
        def pressed(_button: Any) -> None:
            line = press(channels, action)
            said.text = line
            if on_reply is not None:
                on_reply(line)

        return pressed

    for action in ACTIONS:
        button = Button(text=action.label, font_size=sp(18), size_hint_min=(mm(15), mm(12)))
        button.name = action.name
        button.disabled = not getattr(channels, action.channel)
        button.bind(on_release=handler(action))
        grid.add_widget(button)
    root.add_widget(grid)
    root.add_widget(said)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.sim_panel", description=__doc__)
    for name in ("bill", "coin", "printer", "card"):
        parser.add_argument(f"--{name}", default="", help=f"the {name} simulator's control URL")
    args = parser.parse_args(argv)
    channels = Channels(args.bill, args.coin, args.printer, args.card)

    from kiosk.window import prepare_environment

    prepare_environment(size=(420, 560))
    from kivy.app import App

    class SimPanelApp(App):  # type: ignore[misc]
        title = "Kiosk simulators"

        def build(self) -> Any:
            return build_panel(channels)

    SimPanelApp().run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
