"""Wallet purposes and the system accounts of the ledger."""

from __future__ import annotations

from enum import StrEnum


class Purpose(StrEnum):
    """One wallet per purpose per unit."""

    ELECTRICITY = "electricity"
    WATER = "water"
    GAS = "gas"
    PARKING = "parking"
    PROPERTY_FEE = "property_fee"
    MAINTENANCE_FUND = "maintenance_fund"
    SERVICES = "services"


UTILITIES = (Purpose.ELECTRICITY, Purpose.WATER, Purpose.GAS)


class PaymentMethod(StrEnum):
    CASH = "cash"  # a kiosk's bill or coin acceptor
    PROVIDER = "provider"  # QR or mobile payment through a payment provider
    STAFF_DESK = "staff_desk"  # the management office's counter


def wallet_code(unit: str, purpose: Purpose) -> str:
    return f"wallet:{unit}:{purpose.value}"


def cash_box_code(kiosk: str) -> str:
    return f"cash_box:{kiosk}"


def clearing_code(provider: str) -> str:
    return f"clearing:{provider}"


# Where money leaves the estate's ledger for its bank account: provider payouts
# and counted kiosk cash are both banked through it.
BANK_CLEARING_CODE = clearing_code("bank")


def revenue_code(service: str) -> str:
    return f"revenue:{service}"


STAFF_DESK_CODE = "cash_desk:office"
MAINTENANCE_FUND_CODE = "fund:maintenance"
CASH_VARIANCE_CODE = "variance:cash"
