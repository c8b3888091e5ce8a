"""A view of every screen, as the controller would hand them: for screenshots and layout tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from kiosk.controller import KioskController
from kiosk.devices import DeviceHealth
from kiosk.gateway import CentralUnavailable
from kiosk.view import (
    BillView,
    DeviceCheckView,
    KioskView,
    QrOrderView,
    ReceiptView,
    RefusedTopUpView,
    Screen,
    WalletState,
    WalletView,
)

BASE = KioskView(
    estate_name="Harbour View Gardens",
    estate_phone="+86 21 5555 0100",
    notices=("Water supply maintenance in Tower B on 28 November, 09:00-12:00.",),
    preset_amounts=(5000, 10000, 20000, 50000),
    limit=200_000,
)
# The last seven local days' spend (minor units), oldest first, ending on the gallery's today.
WEEK = ("2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24",
        "2026-11-25")  # fmt: skip
ELECTRICITY_WEEK = tuple(zip(WEEK, (1320, 1185, 1610, 2240, 2075, 980, 415), strict=True))
WATER_WEEK = tuple(zip(WEEK, (310, 290, 0, 455, 330, 305, 120), strict=True))
GAS_WEEK = tuple(zip(WEEK, (520, 610, 480, 700, 655, 590, 210), strict=True))
WALLETS = (
    WalletView("electricity", 23450, 25450, WalletState.OK, spend_by_day=ELECTRICITY_WEEK,
               last_top_up_on="2026-11-20", last_top_up_amount=10000),
    WalletView("water", 2210, 4210, WalletState.LOW, spend_by_day=WATER_WEEK,
               last_top_up_on="2026-10-02", last_top_up_amount=5000),
    WalletView("gas", -850, 1150, WalletState.EMERGENCY, spend_by_day=GAS_WEEK,
               last_top_up_on="2026-09-14", last_top_up_amount=20000),
    WalletView("parking", 0, 0, WalletState.EMPTY),
    WalletView("property_fee", 120000, 120000, WalletState.OK,
               last_top_up_on="2026-07-01", last_top_up_amount=120000),
    WalletView("maintenance_fund", 356000, 356000, WalletState.OK),
    WalletView("services", 5000, 5000, WalletState.OK, pending=2000,
               last_top_up_on="2026-11-24", last_top_up_amount=5000),
)  # fmt: skip
OVERVIEW = replace(
    BASE,
    screen=Screen.OVERVIEW,
    unit="A-0101",
    card="**0101",
    wallets=WALLETS,
    last_top_up=("electricity", 10000),
    balances_at=datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
)
# Metering's word on the utility wallets: days left, a load limit, a restore on its way.
METERED_WALLETS = (
    WalletView("electricity", 23450, 25450, WalletState.OK, days_left=12, supply="on"),
    WalletView("water", 2210, 4210, WalletState.LOW, days_left=1, supply="on"),
    WalletView("gas", -850, 1150, WalletState.LIMITED, days_left=0, supply="limited"),
    WalletView("parking", 0, 0, WalletState.EMPTY),
    WalletView("property_fee", 120000, 120000, WalletState.OK),
    WalletView("maintenance_fund", 356000, 356000, WalletState.OK),
    WalletView("services", 5000, 5000, WalletState.OK),
)
RESTORING_WALLETS = (
    WalletView("electricity", 5000, 7000, WalletState.CUT_OFF, supply="off", restore_pending=True),
    WalletView("water", 8210, 10210, WalletState.OK, days_left=23, supply="on"),
    WalletView("gas", 12850, 14850, WalletState.OK, days_left=31, supply="on"),
    WalletView("parking", 0, 0, WalletState.EMPTY),
    WalletView("property_fee", 120000, 120000, WalletState.OK),
    WalletView("maintenance_fund", 356000, 356000, WalletState.OK),
    WalletView("services", 5000, 5000, WalletState.OK),
)
BILL = BillView(7, "2026-Q1", 35400, "2026-02-28", 17700)
RECEIPT = ReceiptView(
    seq=42,
    reference="kiosk-lobby-a-000042",
    wallet="electricity",
    amount=12000,
    method="cash",
    balance_after=35450,
    printed=True,
    problem="",
    ereceipt_url="https://pay.example/r/kiosk-lobby-a-000042-Yk3q0xZ1aB9c",
    lines=(),
)
DEVICES = (
    DeviceHealth("bill_acceptor", True, True),
    DeviceHealth("coin_acceptor", True, True),
    DeviceHealth("printer", True, False, "paper out"),
    DeviceHealth("card_reader", True, True),
)
# The doctor's verdicts as the technician screen shows them after the Doctor button.
DOCTOR = (
    DeviceCheckView("bill_acceptor", True, True, "bill acceptor (ID-003)", "", "",
                    (("status", "DISABLE"), ("version", "JCM-ID003 V1.22")), ),
    DeviceCheckView("coin_acceptor", True, True, "coin acceptor (ccTalk)", "", "",
                    (("manufacturer", "SIM"), ("product", "CA-1")), ),
    DeviceCheckView("printer", True, False, "receipt printer (ESC/POS)",
                    "the printer is out of paper", "load a new roll",
                    (("paper_near_end", "False"),), in_use=False),
    DeviceCheckView("card_reader", True, True, "card reader (PC/SC)", "", "",
                    (("reader", "Virtual PCD 00 00"),)),
)  # fmt: skip

# name -> the view; each is shown in every language and orientation.
GALLERY: dict[str, KioskView] = {
    "idle": BASE,
    "identify": replace(BASE, screen=Screen.IDENTIFY, message="card_lost"),
    "overview": OVERVIEW,
    "overview-offline": replace(OVERVIEW, online=False),
    "overview-metering": replace(OVERVIEW, wallets=METERED_WALLETS),
    "overview-restoring": replace(
        OVERVIEW, wallets=RESTORING_WALLETS, last_top_up=("electricity", 5000)
    ),
    "overview-usage": replace(OVERVIEW, usage_wallet="electricity"),
    "overview-usage-offline": replace(OVERVIEW, usage_wallet="water", online=False),
    "overview-fees": replace(OVERVIEW, bills=(BILL,)),
    "overview-fee-confirm": replace(OVERVIEW, bills=(BILL,), confirm_bill=BILL),
    "overview-fee-failed": replace(
        OVERVIEW, bills=(BILL,), confirm_bill=BILL, message="fee_no_answer"
    ),
    "top-up": replace(
        OVERVIEW, screen=Screen.TOP_UP, selected_wallet="electricity", qr_payment=True
    ),
    "top-up-cash": replace(
        OVERVIEW,
        screen=Screen.TOP_UP,
        selected_wallet="electricity",
        cash_active=True,
        notes_accepted=True,
        coins_accepted=True,
        inserted=12000,
        stacked=(10000, 2000),
        target=20000,
        message="note_refused",
    ),
    "top-up-qr": replace(
        OVERVIEW,
        screen=Screen.TOP_UP,
        selected_wallet="water",
        qr_payment=True,
        qr_order=QrOrderView(
            "kiosk-lobby-a-3f2a-9c1d", "https://sandbox.pay.example/q/Yk3q0xZ1aB9c", 10000, 47
        ),
        target=10000,
        message="qr_pay",
    ),
    "receipt": replace(OVERVIEW, screen=Screen.RECEIPT, receipt=RECEIPT, message="printed"),
    "receipt-fee": replace(
        OVERVIEW,
        screen=Screen.RECEIPT,
        receipt=replace(
            RECEIPT, wallet="property_fee", amount=17700, balance_after=102300, bill_id=7
        ),
        message="printed",
    ),
    "receipt-paper-out": replace(
        OVERVIEW,
        screen=Screen.RECEIPT,
        receipt=replace(RECEIPT, printed=False, problem="paper_out", balance_after=None),
        message="paper_out",
        online=False,
    ),
    "receipt-refused": replace(
        OVERVIEW,
        screen=Screen.RECEIPT,
        receipt=replace(RECEIPT, balance_after=None, refused=True),
        message="printed",
    ),
    "overview-refused-top-up": replace(
        OVERVIEW,
        refused_top_up=RefusedTopUpView("kiosk-lobby-a-000042", "electricity", 12000, "2026-11-24"),
    ),
    "out-of-service": replace(BASE, screen=Screen.OUT_OF_SERVICE),
    "technician": replace(
        BASE,
        screen=Screen.TECHNICIAN,
        devices=DEVICES,
        backlog=3,
        cash_counts=((1000, 4), (2000, 7), (5000, 2), (10000, 5)),
    ),
    "technician-doctor": replace(
        BASE,
        screen=Screen.TECHNICIAN,
        devices=DEVICES,
        backlog=3,
        cash_counts=((1000, 4), (2000, 7), (5000, 2), (10000, 5)),
        technician_card=12,
        doctor=DOCTOR,
        message="doctor_done",
        message_args=(("count", "4"), ("ok", "3")),
    ),
}


class UnreachableCentral:
    """A gateway with no server behind it: the gallery's controller never calls out."""

    def _down(self, *args: object, **kwargs: object) -> NoReturn:
        raise CentralUnavailable("no server in the gallery")

    health = wallets = credentials = top_up = open_bills = pay_bill = _down


def gallery_controller() -> KioskController:
    """A controller with no devices and no server, whose screens the gallery drives."""
    from kiosk.devices import Devices
    from kiosk.journal import LocalJournal
    from kiosk.settings import KioskSettings

    settings = KioskSettings(terminal_id="kiosk-gallery", journal_path=":memory:")
    return KioskController(
        settings,
        gateway=UnreachableCentral(),  # type: ignore[arg-type]
        journal=LocalJournal(":memory:", terminal_id=settings.terminal_id),
        devices=Devices(),
    )


PIN_PAD = "pin-pad"  # a popup over a screen, not a view of its own


def render(directory: Path, *, names: list[str] | None = None) -> list[Path]:
    """Every gallery view x language x orientation as PNGs; returns the paths.

    Needs Kivy prepared (``kiosk.window.prepare_environment``) and not yet running.
    """
    from kivy.core.window import Window

    from kiosk.app import KioskApp
    from kiosk.fonts import register_default_font
    from kiosk.window import LANDSCAPE, PORTRAIT, pump, resize, screenshot

    register_default_font()
    app = KioskApp(gallery_controller())
    root = app.build()
    Window.add_widget(root)
    saved = []
    try:
        for orientation, size in (("landscape", LANDSCAPE), ("portrait", PORTRAIT)):
            resize(size)
            for language in app.controller.settings.languages:
                for name, view in GALLERY.items():
                    if names and name not in names:
                        continue
                    app.show(replace(view, language=language))
                    pump(3)
                    path = directory / f"{name}-{language}-{orientation}.png"
                    saved.append(screenshot(path))
                if not names or PIN_PAD in names:  # technician mode's PIN, over idle
                    app.show(replace(GALLERY["idle"], language=language))
                    pad = app.open_pin_pad()
                    pump(seconds=0.3)  # the popup's opening animation
                    saved.append(screenshot(directory / f"{PIN_PAD}-{language}-{orientation}.png"))
                    pad.dismiss()
                    pump(seconds=0.3)
    finally:
        Window.remove_widget(root)
        app.controller.journal.close()
    return saved
