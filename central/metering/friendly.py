"""Friendly-credit hours: nights, weekends and holidays when no supply is cut.

A cut-off that falls due inside them waits until they end; back-to-back
stretches (a night running into a holiday) are one wait.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from central.metering.registry import Policy


def _stretch_end(local: datetime, policy: Policy, holidays: Collection[date]) -> datetime | None:
    """If ``local`` is friendly, the end of the stretch it is in (one rule at a time)."""
    day = local.date()
    if day in holidays:
        return datetime.combine(day + timedelta(days=1), time(0), local.tzinfo)
    if policy.friendly_weekends and local.weekday() >= 5:
        return datetime.combine(day + timedelta(days=7 - local.weekday()), time(0), local.tzinfo)
    start, end = policy.friendly_start, policy.friendly_end
    if start is None or end is None:
        return None
    now = local.time()
    if start < end:  # a window inside one day
        if start <= now < end:
            return datetime.combine(day, end, local.tzinfo)
        return None
    if now >= start:  # a night: from start to end the next morning
        return datetime.combine(day + timedelta(days=1), end, local.tzinfo)
    if now < end:
        return datetime.combine(day, end, local.tzinfo)
    return None


def friendly_until(
    now: datetime, policy: Policy, holidays: Collection[date], zone: ZoneInfo
) -> datetime | None:
    """When friendly credit ends if ``now`` is inside it (UTC), else None."""
    local = now.astimezone(zone)
    end = _stretch_end(local, policy, holidays)
    if end is None:
        return None
    for _ in range(400):  # a run of nights, weekends and holidays ends within a year
        following = _stretch_end(end, policy, holidays)
        if following is None or following <= end:
            break
        end = following
    return end.astimezone(UTC)
