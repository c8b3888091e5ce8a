"""Money: integer minor units in one currency, made in one place.

Amounts never pass through float. Prices and rates may be :class:`~decimal.Decimal`
with more places than the currency has; :func:`to_minor` is the one place where
such a figure becomes minor units, and it rounds half-up, the rule consumers see
on utility and fee bills.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 minor-unit exponents for the currencies an estate may use.
MINOR_EXPONENT: dict[str, int] = {
    "CNY": 2,
    "HKD": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "SGD": 2,
    "MYR": 2,
    "BRL": 2,
    "JPY": 0,
    "KRW": 0,
}

# The largest amount one operation may carry: 10^13 minor units is ten billion
# major units, far beyond any household payment, and well inside a signed 64-bit
# balance even after millions of postings.
MAX_AMOUNT = 10**13


class MoneyError(ValueError):
    """An amount or currency that cannot be money here."""


def exponent(currency: str) -> int:
    try:
        return MINOR_EXPONENT[currency]
    except KeyError:
        raise MoneyError(f"unsupported currency {currency!r}") from None


@dataclass(frozen=True, order=True, slots=True)
class Money:
    """An amount in integer minor units (fen, cents) of one currency."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise MoneyError(f"money is held in integer minor units, not {type(self.minor)!r}")
        exponent(self.currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot mix {self.currency} and {other.currency}")

    def to_decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-exponent(self.currency))

    def format(self) -> str:
        """``12.34 CNY``: for receipts, logs and the CLI."""
        places = exponent(self.currency)
        return f"{self.to_decimal():.{places}f} {self.currency}"

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Major units as a person writes them (``"12.30"``) to exact minor units."""
        try:
            value = Decimal(text.strip())
        except InvalidOperation:
            raise MoneyError(f"{text!r} is not an amount") from None
        places = exponent(currency)
        minor = value.scaleb(places)
        if minor != minor.to_integral_value():
            raise MoneyError(f"{text!r} has more than {places} decimal places for {currency}")
        return cls(int(minor), currency)


def to_minor(value: Decimal, currency: str) -> int:
    """Round a figure in major units (a price times a quantity) to minor units."""
    return int(value.scaleb(exponent(currency)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def split_minor(value: Decimal, currency: str, carried: Decimal) -> tuple[int, Decimal]:
    """Charge ``value`` plus the remainder carried from earlier charges.

    Returns the whole minor units to post now and the sub-minor remainder to
    carry, so that a period's postings equal the exact total to the minor unit.
    """
    exact = value.scaleb(exponent(currency)) + carried
    whole = int(exact.to_integral_value(rounding=ROUND_FLOOR))
    return whole, exact - whole


def check_amount(minor: int) -> None:
    """Refuse amounts that cannot be a single payment: zero, negative, absurd."""
    if minor <= 0:
        raise MoneyError("the amount must be positive")
    if minor > MAX_AMOUNT:
        raise MoneyError(f"the amount exceeds the ledger's per-operation limit of {MAX_AMOUNT}")
