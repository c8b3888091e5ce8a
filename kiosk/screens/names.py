"""The words the screens show for the view's codes: wallets, wallet states, devices."""

from __future__ import annotations

from kiosk.view import WalletState

WALLET_NAMES = {
    "electricity": "Electricity",
    "water": "Water",
    "gas": "Gas",
    "parking": "Parking",
    "property_fee": "Property fee",
    "maintenance_fund": "Maintenance fund",
    "services": "Services",
}
STATE_NAMES = {
    WalletState.OK: "OK",
    WalletState.LOW: "Low",
    WalletState.EMERGENCY: "Emergency credit",
    WalletState.CUT_OFF: "Supply cut off",
    WalletState.LIMITED: "Supply limited",
    WalletState.EMPTY: "Empty",
    WalletState.UNKNOWN: "Unknown",
}
DEVICE_NAMES = {
    "bill_acceptor": "Bill acceptor",
    "coin_acceptor": "Coin acceptor",
    "printer": "Receipt printer",
    "card_reader": "Card reader",
}
