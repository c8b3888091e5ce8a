"""Fee arithmetic: proration, instalments, capped late fees, vote thresholds."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.fees import (
    FeeError,
    LateFeeRule,
    Period,
    Rate,
    VoteResult,
    VoteRule,
    bill_amount,
    judge_vote,
    late_fee_increment,
    late_fee_total,
    months_late,
    occupied_days,
    split_instalments,
)

Q1 = Period.parse("2026-Q1")
RATES = [Rate(date(2025, 1, 1), Decimal("2.00"))]


def amount(stays: list[tuple[date, date | None]], rates: list[Rate] = RATES) -> int:
    return bill_amount(area_m2=Decimal(100), rates=rates, period=Q1, stays=stays, currency="CNY")


def test_periods() -> None:
    assert (Q1.start, Q1.end, Q1.days) == (date(2026, 1, 1), date(2026, 4, 1), 90)
    year = Period.parse("2026")
    assert (year.start, year.end) == (date(2026, 1, 1), date(2027, 1, 1))
    assert Period.parse("2026-q4").end == date(2027, 1, 1)
    assert Period.parse("2026-02").days == 28
    with pytest.raises(FeeError):
        Period.parse("2026-Q5")
    for text in ("¹¹¹¹", "٢٠٢٦", "２０２６-Q1", "2026-٠٢"):  # digits, but not ASCII ones
        with pytest.raises(FeeError):
            Period.parse(text)


@given(st.text(max_size=12))
def test_any_text_is_a_period_or_a_fee_error(text: str) -> None:
    try:
        period = Period.parse(text)
    except FeeError:
        return
    assert period.start < period.end


def test_a_whole_quarter_and_prorated_moves() -> None:
    # 2.00 per m2 per month, 100 m2: 200.00 a month, 600.00 a quarter.
    assert amount([(date(2024, 5, 1), None)]) == 60000
    # In on 15 February: 14 of February's 28 days and all of March.
    assert amount([(date(2026, 2, 15), None)]) == 30000
    # Out on 11 January: 10 of January's 31 days; 200 * 10 / 31 = 64.516... -> 64.52.
    assert amount([(date(2024, 1, 1), date(2026, 1, 11))]) == 6452
    # Two owners overlapping count once; a gap between stays is not billed.
    assert amount([(date(2025, 1, 1), None), (date(2026, 2, 1), None)]) == 60000
    assert amount([(date(2025, 1, 1), date(2026, 2, 1)), (date(2026, 3, 1), None)]) == 40000
    assert amount([]) == 0
    assert occupied_days(Q1, [(date(2026, 5, 1), None)]) == []


def test_a_price_change_mid_quarter() -> None:
    rates = [*RATES, Rate(date(2026, 3, 1), Decimal("3.00"))]
    assert amount([(date(2025, 1, 1), None)], rates) == 20000 + 20000 + 30000
    with pytest.raises(FeeError):
        amount([(date(2025, 1, 1), None)], [Rate(date(2026, 2, 1), Decimal(1))])


@given(total=st.integers(min_value=1, max_value=10**13), count=st.integers(1, 60))
def test_instalments_sum_exactly_with_the_rounding_on_the_last(total: int, count: int) -> None:
    if total < count:
        with pytest.raises(FeeError):
            split_instalments(total, count)
        return
    parts = split_instalments(total, count)
    assert len(parts) == count
    assert sum(parts) == total
    assert all(p > 0 for p in parts)
    assert len(set(parts[:-1])) <= 1
    assert 0 <= parts[-1] - parts[0] < count


def test_instalments_examples() -> None:
    assert split_instalments(10000, 3) == [3333, 3333, 3334]
    assert split_instalments(7, 7) == [1] * 7


RULE = LateFeeRule(rate_per_month=Decimal("0.03"), cap=Decimal("0.10"), grace_days=5)


def test_late_fee_starts_after_grace_and_stops_at_the_cap() -> None:
    due = date(2026, 1, 31)

    def fee(today: date) -> int:
        return late_fee_total(
            bill=10000, overdue=[(10000, due)], today=today, rule=RULE, currency="CNY"
        )

    assert fee(date(2026, 2, 5)) == 0  # within the grace
    assert months_late(due, date(2026, 2, 6), 5) == 1
    assert fee(date(2026, 2, 6)) == 300
    assert fee(date(2026, 4, 10)) == 900
    assert fee(date(2026, 5, 10)) == 1000  # 4 months would be 1200: capped at 10%
    assert fee(date(2030, 1, 1)) == 1000
    assert late_fee_increment(1000, 900) == 100
    assert late_fee_increment(300, 900) == 0  # a payment never turns into a refund


@given(
    bill=st.integers(1, 10**9),
    days=st.integers(0, 4000),
    rate=st.decimals(min_value=0, max_value=1, places=4),
    cap=st.decimals(min_value=0, max_value=1, places=4),
)
def test_late_fee_never_passes_the_cap(bill: int, days: int, rate: Decimal, cap: Decimal) -> None:
    rule = LateFeeRule(rate, cap)
    due = date(2026, 1, 1)
    today = date.fromordinal(due.toordinal() + days)
    fee = late_fee_total(bill=bill, overdue=[(bill, due)], today=today, rule=rule, currency="CNY")
    assert 0 <= fee <= bill * cap + Decimal("0.5")


def test_votes_need_both_thresholds() -> None:
    rule = VoteRule()
    exactly = VoteResult(Decimal("200"), Decimal("300"), 2, 3)
    assert judge_vote(exactly, rule).passed
    short_area = VoteResult(Decimal("199.99"), Decimal("300"), 3, 3)
    verdict = judge_vote(short_area, rule)
    assert not verdict.passed
    assert "floor area" in verdict.reasons[0]
    short_heads = VoteResult(Decimal("300"), Decimal("300"), 1, 2)
    assert not judge_vote(short_heads, rule).passed
    lenient = VoteRule(area=Fraction(1, 2), headcount=Fraction(1, 2))
    assert judge_vote(short_heads, lenient).passed
    assert not judge_vote(VoteResult(Decimal(1), Decimal(0), 0, 0), rule).passed
