"""``prepaid kiosk``: run the lobby kiosk, its demo walk-through, or its screenshots.

    prepaid kiosk run [--state DIR] [--server URL] [--bill URL] [--coin URL]
                      [--printer URL] [--card pcsc://NAME] [--provider URL] [--simulated]
                      [--portrait] [--offscreen]
    prepaid kiosk walkthrough --server URL --code CODE --dir DIR
    prepaid kiosk screenshots [--out docs/screenshots]

The kiosk is an enrolled terminal: ``--state`` is its state directory, where
``prepaid provision --dir DIR enroll --type kiosk --code CODE`` left its identity
(terminal.json, terminal.key); every request and journal entry is signed with
its key, and the server is the one it enrolled with unless ``--server`` says.
``run`` opens the window (offscreen when there is no display) with the devices at
their URLs; ``--simulated`` puts every device on its built-in simulator.
``walkthrough`` enrols the kiosk with ``--code`` (a manager's one-time enrolment
code, ``PREPAID_KIOSK_ENROLMENT_CODE``) the first time.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path


def _settings(args: argparse.Namespace, terminal_id: str, server: str) -> object:
    from kiosk.settings import KioskSettings
    from kiosk.walkthrough import demo_settings

    secret = os.environ.get("PREPAID_KIOSK_PAYMENT_SECRET", "")
    provider_url = str(args.provider) if secret else ""
    payment_secret = bytes.fromhex(secret) if secret else b""
    if args.simulated:
        settings = demo_settings(
            server, Path(args.state), Path(args.journal), terminal_id=terminal_id
        )
        return replace(
            settings,
            card_reader_url=args.card or "",
            payment_provider_url=provider_url,
            payment_secret=payment_secret,
        )
    from terminal_drivers.card_reader.demo_keys import DEMO_MASTER_KEY, DEMO_SYSTEM_ID

    key = os.environ.get("PREPAID_KIOSK_CARD_KEY", "")
    return KioskSettings(
        terminal_id=terminal_id,
        server_url=server,
        state_dir=args.state,
        journal_path=args.journal,
        bill_acceptor_url=args.bill,
        coin_acceptor_url=args.coin,
        printer_url=args.printer,
        card_reader_url=args.card or "",
        card_master_key=bytes.fromhex(key) if key else DEMO_MASTER_KEY,
        card_system_id=DEMO_SYSTEM_ID,
        technician_pin=os.environ.get("PREPAID_KIOSK_PIN", ""),
        development=os.environ.get("PREPAID_ENV", "development") == "development",
        payment_provider_url=provider_url,
        payment_secret=payment_secret,
    )


def _run(args: argparse.Namespace) -> int:
    from kiosk.window import LANDSCAPE, PORTRAIT, prepare_environment

    offscreen = prepare_environment(
        offscreen=True if args.offscreen else None, size=PORTRAIT if args.portrait else LANDSCAPE
    )
    from kiosk import terminal
    from kiosk.app import ControllerThread, KioskApp
    from kiosk.devices import Devices
    from kiosk.fonts import FontMissing, register_default_font
    from kiosk.settings import KioskSettings
    from kiosk.walkthrough import controller_for

    try:
        identity, enrolled_with = terminal.load(args.state)
    except terminal.NotEnrolled as err:
        print(f"prepaid kiosk: {err}", file=sys.stderr)
        return 2
    settings = _settings(args, identity.terminal_id, args.server or enrolled_with)
    assert isinstance(settings, KioskSettings)
    try:
        register_default_font()
    except FontMissing as err:
        print(f"prepaid kiosk: {err}", file=sys.stderr)
        return 2
    if offscreen:
        print("no display: the kiosk runs offscreen (Ctrl-C to stop)", flush=True)
    panel, card = None, None
    if args.panel:  # the demo's simulator panel, a window of its own (kiosk/sim_panel.py)
        from kiosk.sim_panel import Panel, with_virtual_card

        settings, card = with_virtual_card(settings)
    devices = Devices.open(settings)
    if args.panel:
        panel = Panel.serve(devices, card).open_window()
    for health in devices.health.values():
        print(f"  {health.name:<14} {'ok' if health.ok else health.detail}", flush=True)
    controller = controller_for(settings, identity, devices)
    thread = ControllerThread(controller)
    thread.start()
    try:
        KioskApp(controller).run()
    except KeyboardInterrupt:
        pass
    finally:
        if panel is not None:
            panel.stop()
        thread.stop()
        controller.close()
        devices.close()
        controller.journal.close()
    return 0


def _walkthrough(args: argparse.Namespace) -> int:
    from kiosk.walkthrough import run

    code = args.code or os.environ.get("PREPAID_KIOSK_ENROLMENT_CODE", "")
    from kiosk.terminal import NotEnrolled

    try:
        result = run(args.server, code, Path(args.dir))
    except NotEnrolled as err:
        print(f"prepaid kiosk: {err}", file=sys.stderr)
        return 2
    print(f"identified by {result.identified_by}; inserted {result.inserted / 100:.2f}")
    print("receipt:")
    for line in result.receipt.splitlines():
        print(f"    {line}")
    print(result.collection_line())
    print(f"technician mode closed; the journal is on the server (kiosk {result.terminal_id})")
    print("screenshots:")
    for path in result.screenshots:
        print(f"    {path}")
    return 0


def _screenshots(args: argparse.Namespace) -> int:
    from kiosk.window import prepare_environment

    prepare_environment(offscreen=True)
    from kiosk.gallery import render

    saved = render(Path(args.out))
    print(f"{len(saved)} screenshots in {args.out}")
    return 0


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="prepaid kiosk",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subs = parser.add_subparsers(dest="command", required=True)
    run = subs.add_parser("run", help="open the kiosk window")
    walk = subs.add_parser("walkthrough", help="the demo's scripted walk-through")
    run.add_argument("--state", default="var/kiosk", help="the enrolled terminal's directory")
    run.add_argument("--server", default="", help="default: the server it enrolled with")
    walk.add_argument("--server", default="http://127.0.0.1:8470")
    walk.add_argument(
        "--code", default="", help="enrolment code (default: $PREPAID_KIOSK_ENROLMENT_CODE)"
    )
    run.add_argument("--journal", default="var/kiosk/journal.sqlite3")
    run.add_argument("--bill", default="", help="bill acceptor URL, e.g. /dev/ttyUSB0")
    run.add_argument("--coin", default="", help="coin acceptor URL")
    run.add_argument("--printer", default="", help="receipt printer URL")
    run.add_argument("--card", default="", help="card reader URL, pcsc://<reader name>")
    run.add_argument(
        "--provider",
        default="",
        help="payment provider URL (with $PREPAID_KIOSK_PAYMENT_SECRET, hex): QR payment",
    )
    run.add_argument("--simulated", action="store_true", help="every device on its simulator")
    run.add_argument("--panel", action="store_true", help="open the simulator panel too")
    run.add_argument("--portrait", action="store_true", help="800x1280 instead of 1280x800")
    run.add_argument("--offscreen", action="store_true", help="no window even with a display")
    walk.add_argument("--dir", default="var/demo/kiosk", help="journal and screenshots")
    shots = subs.add_parser("screenshots", help="every screen, both languages and orientations")
    shots.add_argument("--out", default="docs/screenshots")
    args = parser.parse_args(list(argv))
    handlers = {"run": _run, "walkthrough": _walkthrough, "screenshots": _screenshots}
    return handlers[args.command](args)
