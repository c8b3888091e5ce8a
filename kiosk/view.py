"""What the kiosk's screens are shown: immutable views the controller publishes.

The controller (:mod:`kiosk.controller`) builds a :class:`KioskView` after each
step; the screens (:mod:`kiosk.screens`) draw it and nothing else. Messages are
gettext msgids (English) whose ``{name}`` fields are filled after translation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from kiosk.devices import DeviceHealth

WALLET_ORDER = (
    "electricity",
    "water",
    "gas",
    "parking",
    "property_fee",
    "maintenance_fund",
    "services",
)
TOP_UP_WALLETS = ("electricity", "water", "gas", "parking", "services")


class Screen(StrEnum):
    IDLE = "idle"
    IDENTIFY = "identify"
    OVERVIEW = "overview"
    TOP_UP = "top_up"
    RECEIPT = "receipt"
    OUT_OF_SERVICE = "out_of_service"
    TECHNICIAN = "technician"


class WalletState(StrEnum):
    OK = "ok"
    LOW = "low"
    EMERGENCY = "emergency"  # below zero, living on the emergency credit
    CUT_OFF = "cut_off"  # nothing left to spend: the supply is off until a top-up
    LIMITED = "limited"  # the meter holds the supply to a load limit until a top-up
    EMPTY = "empty"  # nothing left to spend on a wallet that feeds no supply (parking, fees)
    UNKNOWN = "unknown"  # offline and no snapshot


# The messages the controller hands the screens. Each is a gettext msgid (English)
# with ``{name}`` fields filled from ``KioskView.message_args`` after translation.
MESSAGES = {
    "reading": "Reading your card…",
    "card_unknown": "This card is not registered here. Please contact the management office.",
    "card_lost": "This card has been reported lost. Please contact the management office.",
    "card_revoked": "This card is no longer valid. Please contact the management office.",
    "card_clone": "This card could not be verified and cannot be used.",
    "card_low_assurance": "This card cannot be used at the kiosk. Please use your resident card "
    "or the QR code in the app.",
    "card_removed": "The card was taken away too soon. Please tap it again and hold it still.",
    "qr_unknown": "This QR code is not a resident code.",
    "qr_forged": "This QR code is not valid.",
    "qr_expired": "This QR code has expired. Please refresh it in the app.",
    "qr_replayed": "This QR code has already been used. Please refresh it in the app.",
    "no_change": "This kiosk gives no change: everything you insert is credited to the wallet.",
    "note_refused": "That note was refused. Please try another note.",
    "note_returned": "That note was returned.",
    "limit_reached": "The limit for one top-up has been reached: press Finish.",
    "cash_box_full": "The cash box is full: notes are not accepted now.",
    "notes_unavailable": "Notes are not accepted right now.",
    "coins_unavailable": "Coins are not accepted right now.",
    "coin_refused": "That coin was refused.",
    "printed": "Your receipt has been printed.",
    "paper_out": "The printer is out of paper. Scan this code for your e-receipt.",
    "printer_failed": "The printer is not working. Scan this code for your e-receipt.",
    "pending": "Credited at this kiosk; the balance will update when the server is reachable.",
    "payments_unavailable": "This kiosk cannot take payments now. Please top up in the app "
    "or at the management office.",
    "top_up_refused": "The server could not apply this top-up to the wallet. Your money is "
    "recorded: the management office will credit it. Please keep your receipt.",
    "top_up_not_applied": "Your top-up of {amount} to {wallet} on {date} (receipt {reference}) "
    "was not applied automatically. The management office has it on record and credits it: "
    "ask there if it is not in your balance.",
    "pin_wrong": "Wrong PIN.",
    "doctor_done": "Doctor: {ok} of {count} devices OK.",
    "test_printed": "Test receipt printed.",
    "test_not_printed": "The test receipt was not printed.",
    "qr_pay": "Scan this code with your banking or payment app to pay.",
    "qr_cancelled": "The QR payment was cancelled. Nothing was charged.",
    "qr_unavailable": "QR payment is not available right now.",
    "fee_failed": "The fee was not paid. Nothing was charged.",
    "fee_no_answer": "The server did not answer. Please try again: a fee is never paid twice.",
}


@dataclass(frozen=True)
class WalletView:
    purpose: str
    balance: int | None
    available: int | None
    state: WalletState
    pending: int = 0  # credited here, not yet applied by the server
    # From metering, when the server says (None / False when it does not, or offline):
    days_left: int | None = None  # at the last week's average daily usage
    supply: str = ""  # the meter's supply as metering holds it: "", "on", "off", "limited"
    restore_pending: bool = False  # topped up above the threshold; the restore is on its way
    # From the ledger, when the server says (online, or cached from the last time online):
    spend_by_day: tuple[tuple[str, int], ...] = ()  # (ISO local day, spent), oldest first
    last_top_up_on: str = ""  # ISO local day of the last top-up by any channel; "": none
    last_top_up_amount: int = 0


@dataclass(frozen=True)
class BillView:
    bill_id: int
    period: str
    outstanding: int
    due_on: str
    next_instalment: int | None  # None: no instalment plan, the bill is paid whole

    @property
    def what(self) -> str:
        return "whole" if self.next_instalment is None else "next_instalment"

    @property
    def due_now(self) -> int:
        """What one tap pays: the next instalment, or the whole bill."""
        return self.outstanding if self.next_instalment is None else self.next_instalment


@dataclass(frozen=True)
class ReceiptView:
    seq: int
    reference: str
    wallet: str
    amount: int
    method: str
    balance_after: int | None  # None: pending
    printed: bool
    problem: str
    ereceipt_url: str
    lines: tuple[str, ...]
    bill_id: int = 0  # a property-fee payment, not a top-up
    refused: bool = False  # the server refused the top-up: the office credits it by hand


@dataclass(frozen=True)
class RefusedTopUpView:
    """A top-up of this household the server refused, shown when the household comes back."""

    reference: str  # the receipt's: <kiosk>-<seq>
    wallet: str
    amount: int
    on: str  # ISO local day of the top-up


@dataclass(frozen=True)
class QrOrderView:
    order_id: str
    qr: str
    amount: int
    seconds_left: int


@dataclass(frozen=True)
class DeviceCheckView:
    """One device's doctor result on the technician screen (``provisioning.doctor``'s)."""

    name: str  # bill_acceptor | coin_acceptor | printer | card_reader
    fitted: bool
    ok: bool
    device: str  # what the driver calls it: "bill acceptor (ID-003)"
    reason: str  # "" when ok
    advice: str  # what to do; "" when ok
    details: tuple[tuple[str, str], ...] = ()  # firmware, status, reader, ...
    in_use: bool = True  # False: the kiosk has it marked failed and works without it


@dataclass(frozen=True)
class KioskView:
    screen: Screen = Screen.IDLE
    language: str = "en"
    online: bool = True
    estate_name: str = ""
    estate_phone: str = ""
    notices: tuple[str, ...] = ()
    currency: str = "CNY"
    message: str = ""  # a MESSAGES key, or ""
    message_args: tuple[tuple[str, str], ...] = ()
    unit: str = ""
    card: str = ""  # masked
    wallets: tuple[WalletView, ...] = ()
    balances_at: datetime | None = None  # when the balances were read (offline: snapshot age)
    last_top_up: tuple[str, int] | None = None  # (wallet, amount) at this kiosk
    refused_top_up: RefusedTopUpView | None = None  # the latest one the server refused, lately
    bills: tuple[BillView, ...] = ()  # the household's open fee bills, soonest due first
    confirm_bill: BillView | None = None  # a bill the resident chose to pay: confirm or go back
    usage_wallet: str = ""  # the wallet whose last week's spend the overview shows; "": none
    selected_wallet: str = ""
    top_up_wallets: tuple[str, ...] = TOP_UP_WALLETS
    preset_amounts: tuple[int, ...] = ()
    target: int = 0  # a preset amount chosen, 0 = insert what you like
    cash_active: bool = False
    notes_accepted: bool = False
    coins_accepted: bool = False
    inserted: int = 0
    stacked: tuple[int, ...] = ()
    cue: int = 0  # grows by one per stacked note or coin: the screen beeps
    limit: int = 0
    qr_payment: bool = False
    qr_order: QrOrderView | None = None
    card_identification: bool = True
    qr_identification: bool = True
    receipt: ReceiptView | None = None
    devices: tuple[DeviceHealth, ...] = ()
    backlog: int = 0
    cash_counts: tuple[tuple[int, int], ...] = ()
    technician_card: int = 0  # the staff card's id that opened technician mode; 0: the PIN
    doctor: tuple[DeviceCheckView, ...] = ()  # the last doctor run on the technician screen


def mask_card(card_number: str) -> str:
    return "*" * max(0, len(card_number) - 4) + card_number[-4:] if card_number else ""


def wallet_state(balance: int, available: int, low: int, purpose: str = "") -> WalletState:
    if available <= 0:
        # Only a utility has a supply to cut; an empty parking or fee wallet is just empty.
        utility = purpose in ("electricity", "water", "gas")
        return WalletState.CUT_OFF if utility else WalletState.EMPTY
    if balance < 0:
        return WalletState.EMERGENCY
    if balance < low:
        return WalletState.LOW
    return WalletState.OK
