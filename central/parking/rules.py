"""The manager's rules for awkward cases and the pass renewal days, kept in ``parking_settings``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from central.errors import InvalidRequest
from central.parking.tables import parking_settings
from domain.parking import DEFAULT_RULES, Rule, RuleAction, Situation, TariffError

RENEW_DAYS_BEFORE = 7
REMIND_DAYS_BEFORE = 10


def _setting(conn: Connection, key: str) -> Any:
    value = conn.execute(
        select(parking_settings.c.value).where(parking_settings.c.key == key)
    ).scalar()
    return None if value is None else json.loads(value)


def _put_setting(conn: Connection, key: str, value: Any, now: datetime) -> None:
    text = json.dumps(value)
    if conn.execute(
        update(parking_settings)
        .where(parking_settings.c.key == key)
        .values(value=text, changed_at=now)
    ).rowcount:
        return
    conn.execute(insert(parking_settings).values(key=key, value=text, changed_at=now))


def rules(conn: Connection) -> dict[Situation, Rule]:
    found = dict(DEFAULT_RULES)
    for situation in Situation:
        stored = _setting(conn, f"rule:{situation.value}")
        if stored is not None:
            found[situation] = Rule(situation, RuleAction(stored["action"]), stored["maximum"])
    return found


def renewal_settings(conn: Connection) -> dict[str, int]:
    stored = _setting(conn, "renewal") or {}
    return {
        "renew_days_before": int(stored.get("renew_days_before", RENEW_DAYS_BEFORE)),
        "remind_days_before": int(stored.get("remind_days_before", REMIND_DAYS_BEFORE)),
    }


def describe_rules(conn: Connection) -> dict[str, Any]:
    return {
        "rules": {
            s.value: {"action": r.action.value, "maximum": r.maximum}
            for s, r in rules(conn).items()
        },
        **renewal_settings(conn),
    }


def set_rules(
    conn: Connection,
    *,
    rules_in: dict[str, dict[str, Any]],
    renew_days_before: int | None,
    remind_days_before: int | None,
    now: datetime,
) -> dict[str, Any]:
    for name, body in rules_in.items():
        try:
            rule = Rule(Situation(name), RuleAction(body["action"]), int(body.get("maximum", 0)))
        except (TariffError, ValueError, KeyError) as err:
            raise InvalidRequest(f"rule {name!r}: {err}", code="invalid_rule") from err
        _put_setting(
            conn,
            f"rule:{name}",
            {"action": rule.action.value, "maximum": rule.maximum},
            now,
        )
    if renew_days_before is not None or remind_days_before is not None:
        current = renewal_settings(conn)
        if renew_days_before is not None:
            current["renew_days_before"] = renew_days_before
        if remind_days_before is not None:
            current["remind_days_before"] = remind_days_before
        if current["remind_days_before"] < current["renew_days_before"]:
            raise InvalidRequest(
                "the reminder comes before the renewal: remind_days_before >= renew_days_before",
                code="invalid_rule",
            )
        _put_setting(conn, "renewal", current, now)
    return describe_rules(conn)
