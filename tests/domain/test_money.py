"""Money in integer minor units, made in one place."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.money import MAX_AMOUNT, Money, MoneyError, check_amount, split_minor, to_minor


def test_parse_and_format() -> None:
    assert Money.parse("12.30", "CNY") == Money(1230, "CNY")
    assert Money(1230, "CNY").format() == "12.30 CNY"
    assert Money(-5, "CNY").format() == "-0.05 CNY"
    assert Money.parse("500", "JPY").format() == "500 JPY"


@pytest.mark.parametrize("text", ["1.234", "abc", "", "1e-5"])
def test_parse_refuses_what_is_not_an_amount(text: str) -> None:
    with pytest.raises(MoneyError):
        Money.parse(text, "CNY")


def test_no_float_and_no_mixing() -> None:
    with pytest.raises(MoneyError):
        Money(1.5, "CNY")  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(1, "CNY") + Money(1, "USD")
    with pytest.raises(MoneyError):
        Money(1, "XXX")


def test_rounding_is_half_up_in_one_place() -> None:
    assert to_minor(Decimal("0.005"), "CNY") == 1
    assert to_minor(Decimal("0.0049"), "CNY") == 0
    assert to_minor(Decimal("1.115"), "CNY") == 112


@pytest.mark.parametrize("amount", [0, -1, MAX_AMOUNT + 1])
def test_check_amount_refuses(amount: int) -> None:
    with pytest.raises(MoneyError):
        check_amount(amount)


@given(st.lists(st.decimals(min_value=0, max_value=1000, places=5), min_size=1, max_size=200))
def test_carried_remainder_makes_charges_sum_to_the_exact_total(values: list[Decimal]) -> None:
    carried = Decimal(0)
    posted = 0
    for value in values:
        whole, carried = split_minor(value, "CNY", carried)
        assert whole >= 0
        assert Decimal(0) <= carried < 1
        posted += whole
    exact = sum(values, Decimal(0)).scaleb(2)
    assert posted == int(exact) or posted == int(exact.to_integral_value(rounding="ROUND_FLOOR"))
    assert exact - posted < 1
