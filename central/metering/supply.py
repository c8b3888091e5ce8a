"""Cut-off, load limit and restore: deciding, queueing, acknowledging, reconciling.

The flow: a reading leaves a utility wallet with no room above its floor (zero
minus the emergency credit) -> :func:`request_cut`: inside friendly-credit hours
a *deferred* command waits for them to end, else a *queued* command and the
meter's desired state changes. The dispatcher sends queued commands (mains meters
at once, battery meters when they next wake) and re-sends unacknowledged ones;
an acknowledgement or a state report settles them (:func:`report_state`), and a
state that disagrees with the desired one is re-sent and raised as an alert.

Top-ups are found by reading the ledger forward (:func:`scan_top_ups`), so every
way money arrives (API, batch, kiosk sync) restores supply and recovers debt,
and the ledger knows nothing about meters.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select, update

from central.db.schema import accounts, postings, transactions, units
from central.estate.settings import Estate
from central.ledger import accounts as acc
from central.ledger.posting import Leg, post
from central.metering.friendly import friendly_until
from central.metering.registry import Policy
from central.metering.tables import metering_cursors, meters, supply_commands, supply_events
from domain.metering_messages import Action, Command, SupplyState
from domain.wallets import UTILITIES, Purpose, wallet_code

OPEN = ("deferred", "queued", "sent")
RETRY_S = 5.0  # an unacknowledged command to an awake meter is sent again after this


def debt_code(unit: str, utility: str) -> str:
    return f"debt:{unit}:{utility}"


@dataclass(frozen=True, slots=True)
class MeterRef:
    id: int
    serial: str
    unit: str | None
    utility: str
    power: str
    transport: str
    supply_kind: str
    desired_state: str
    wake_interval_s: int


def _event(
    conn: Connection,
    meter_id: int,
    at: datetime,
    event: str,
    reason: str,
    command_id: str | None = None,
    *,
    alert: bool = False,
) -> None:
    conn.execute(
        insert(supply_events).values(
            meter_id=meter_id, at=at, event=event, reason=reason, command_id=command_id, alert=alert
        )
    )


def _new_command(
    conn: Connection,
    meter: MeterRef,
    action: Action,
    *,
    now: datetime,
    reason: str,
    policy: Policy,
    status: str = "queued",
    not_before: datetime | None = None,
) -> str:
    command_id = uuid.uuid4().hex
    expires = None
    if meter.power == "battery":
        expires = (not_before or now) + timedelta(seconds=policy.command_ttl_s)
    conn.execute(
        insert(supply_commands).values(
            id=command_id,
            meter_id=meter.id,
            action=action.value,
            limit_w=policy.limit_w if action is Action.LIMIT else None,
            reason=reason,
            status=status,
            created_at=now,
            not_before=not_before,
            expires_at=expires,
        )
    )
    return command_id


def _open_commands(conn: Connection, meter_id: int) -> list[tuple[str, str, str]]:
    return [
        (r.id, r.action, r.status)
        for r in conn.execute(
            select(supply_commands.c.id, supply_commands.c.action, supply_commands.c.status).where(
                supply_commands.c.meter_id == meter_id, supply_commands.c.status.in_(OPEN)
            )
        )
    ]


def _set_desired(conn: Connection, meter_id: int, state: SupplyState) -> None:
    conn.execute(update(meters).where(meters.c.id == meter_id).values(desired_state=state.value))


def request_cut(
    conn: Connection,
    meter: MeterRef,
    *,
    now: datetime,
    policy: Policy,
    holidays: frozenset[date],
    zone: ZoneInfo,
    reason: str,
) -> str | None:
    """Cut (or limit) a meter whose wallet has run out, or defer it through friendly credit."""
    if meter.supply_kind == "none" or meter.desired_state != SupplyState.ON.value:
        return None
    if any(action in ("cut", "limit") for _, action, _ in _open_commands(conn, meter.id)):
        return None
    action = Action.LIMIT if policy.mode == "limit" else Action.CUT
    until = friendly_until(now, policy, holidays, zone)
    if until is not None:
        command_id = _new_command(
            conn,
            meter,
            action,
            now=now,
            reason=reason,
            policy=policy,
            status="deferred",
            not_before=until,
        )
        _event(
            conn,
            meter.id,
            now,
            "deferred",
            f"{reason}; friendly credit until {until.isoformat()}",
            command_id,
        )
        return command_id
    return _issue_cut(conn, meter, action, now=now, reason=reason, policy=policy)


def _issue_cut(
    conn: Connection, meter: MeterRef, action: Action, *, now: datetime, reason: str, policy: Policy
) -> str:
    command_id = _new_command(conn, meter, action, now=now, reason=reason, policy=policy)
    _set_desired(conn, meter.id, SupplyState.LIMITED if action is Action.LIMIT else SupplyState.OFF)
    _event(conn, meter.id, now, action.value, reason, command_id)
    return command_id


def request_restore(
    conn: Connection, meter: MeterRef, *, now: datetime, policy: Policy, reason: str
) -> str | None:
    """Restore supply: cancel what is pending, and send restore (gas: arm the valve)."""
    for command_id, action, status in _open_commands(conn, meter.id):
        if action in ("cut", "limit") and status in ("deferred", "queued"):
            conn.execute(
                update(supply_commands)
                .where(supply_commands.c.id == command_id)
                .values(status="cancelled")
            )
            _event(conn, meter.id, now, "cancelled", f"{action} cancelled: {reason}", command_id)
    if meter.desired_state == SupplyState.ON.value and not any(
        a in ("cut", "limit") and s == "sent" for _, a, s in _open_commands(conn, meter.id)
    ):
        return None
    # Safety rule: a gas valve never reopens remotely; the command arms it and the
    # resident opens it at the meter.
    action = Action.ARM if meter.utility == Purpose.GAS.value else Action.RESTORE
    command_id = _new_command(conn, meter, action, now=now, reason=reason, policy=policy)
    _set_desired(conn, meter.id, SupplyState.ARMED if action is Action.ARM else SupplyState.ON)
    _event(conn, meter.id, now, action.value, reason, command_id)
    return command_id


def meter_refs(conn: Connection, where: object) -> list[MeterRef]:
    rows = conn.execute(
        select(
            meters.c.id,
            meters.c.serial,
            units.c.code,
            meters.c.utility,
            meters.c.power,
            meters.c.transport,
            meters.c.supply_kind,
            meters.c.desired_state,
            meters.c.wake_interval_s,
        )
        .select_from(meters.outerjoin(units, units.c.id == meters.c.unit_id))
        .where(meters.c.status == "active", where)  # type: ignore[arg-type]
    ).all()
    return [MeterRef(*r) for r in rows]


def _wallet_room(conn: Connection, unit: str, utility: str) -> tuple[int, int] | None:
    """(balance - held, floor) of the unit's wallet for this utility."""
    row = conn.execute(
        select(accounts.c.balance, accounts.c.held, accounts.c.floor).where(
            accounts.c.code == wallet_code(unit, Purpose(utility))
        )
    ).first()
    if row is None:
        return None
    return row.balance - row.held, row.floor if row.floor is not None else 0


def work_waiting(conn: Connection) -> set[str]:
    """What the worker has to do: new ledger postings, open supply work, due messages."""
    from central.metering.tables import notifications

    work = set()
    cursor = conn.execute(
        select(metering_cursors.c.position).where(metering_cursors.c.name == "top_ups")
    ).scalar()
    last = conn.execute(select(postings.c.id).order_by(postings.c.id.desc()).limit(1)).scalar()
    if cursor is None or (last or 0) > cursor:
        work.add("ledger")
    if (
        conn.execute(
            select(supply_commands.c.id).where(supply_commands.c.status.in_(OPEN)).limit(1)
        ).first()
        or conn.execute(
            select(meters.c.id).where(meters.c.desired_state.in_(("off", "limited"))).limit(1)
        ).first()
    ):
        work.add("supply")
    if conn.execute(
        select(notifications.c.id).where(notifications.c.status == "pending").limit(1)
    ).first():
        work.add("outbox")
    return work


def scan_top_ups(
    conn: Connection,
    *,
    estate: Estate,
    now: datetime,
    policies: dict[str, Policy],
) -> list[str]:
    """Look at every utility-wallet credit since the last scan: recover debt, restore supply.

    Returns the units whose supply was touched (for logs and tests).
    """
    cursor = conn.execute(
        select(metering_cursors.c.position).where(metering_cursors.c.name == "top_ups")
    ).scalar()
    if cursor is None:  # the first scan reads the ledger from its start
        conn.execute(insert(metering_cursors).values(name="top_ups", position=0))
        cursor = 0
    rows = conn.execute(
        select(
            postings.c.id,
            postings.c.amount,
            transactions.c.id.label("txn"),
            accounts.c.code,
            accounts.c.unit_id,
            accounts.c.purpose,
        )
        .join(transactions, transactions.c.id == postings.c.transaction_id)
        .join(accounts, accounts.c.id == postings.c.account_id)
        .where(
            postings.c.id > cursor,
            postings.c.amount > 0,
            accounts.c.kind == "wallet",
            accounts.c.purpose.in_([u.value for u in UTILITIES]),
            transactions.c.kind.in_(("top_up", "transfer", "reversal")),
        )
        .order_by(postings.c.id)
    ).all()
    last = conn.execute(select(postings.c.id).order_by(postings.c.id.desc()).limit(1)).scalar()
    touched: list[str] = []
    for r in rows:
        unit = r.code.split(":")[1]
        utility = r.purpose
        recover_debt(
            conn,
            estate=estate,
            unit=unit,
            utility=utility,
            top_up=r.amount,
            source_txn=r.txn,
            policy=policies[utility],
            now=now,
        )
        touched.append(unit)
    if last is not None and last != cursor:
        conn.execute(
            update(metering_cursors)
            .where(metering_cursors.c.name == "top_ups")
            .values(position=last)
        )
    return touched


def recover_debt(
    conn: Connection,
    *,
    estate: Estate,
    unit: str,
    utility: str,
    top_up: int,
    source_txn: str,
    policy: Policy,
    now: datetime,
) -> int:
    """Recover debt from a top-up: at most its recovery share, never below the floor."""
    debt = acc.by_code(conn, debt_code(unit, utility))
    if debt is None:
        return 0
    owed = -int(
        conn.execute(select(accounts.c.balance).where(accounts.c.id == debt.id)).scalar_one()
    )
    if owed <= 0:
        return 0
    room = _wallet_room(conn, unit, utility)
    if room is None:
        return 0
    available, floor = room
    cap = top_up * policy.recovery_percent // 100
    amount = min(owed, cap, max(0, available - max(floor, 0)))
    if amount <= 0:
        return 0
    wallet = acc.wallet(conn, unit, utility)
    post(
        conn,
        kind="debt_recovery",
        idempotency_key=f"recovery:{source_txn}",
        legs=[Leg(wallet, -amount), Leg(debt, amount)],
        created_at=now,
        actor="system:metering",
        memo=f"{policy.recovery_percent}% of top-up {source_txn} towards {utility} debt",
    )
    return amount


def settle_supply(
    conn: Connection,
    *,
    now: datetime,
    policies: dict[str, Policy],
    holidays: frozenset[date],
    zone: ZoneInfo,
) -> None:
    """Bring every meter's desired state in line with its wallet, and run due deferred cuts."""
    # Cut or limited (or waiting to be): restore where the wallet is back above the threshold.
    waiting = select(supply_commands.c.meter_id).where(supply_commands.c.status == "deferred")
    candidates = meter_refs(
        conn, (meters.c.desired_state.in_(("off", "limited"))) | meters.c.id.in_(waiting)
    )
    for meter in candidates:
        if meter.unit is None:
            continue
        room = _wallet_room(conn, meter.unit, meter.utility)
        if room is None:
            continue
        available, floor = room
        policy = policies[meter.utility]
        if available > floor and available >= policy.restore_threshold:
            request_restore(conn, meter, now=now, policy=policy, reason="wallet topped up")
    # Deferred cuts whose friendly credit has ended.
    due = conn.execute(
        select(
            supply_commands.c.id,
            supply_commands.c.meter_id,
            supply_commands.c.action,
            supply_commands.c.reason,
        ).where(supply_commands.c.status == "deferred", supply_commands.c.not_before <= now)
    ).all()
    for row in due:
        meter = meter_refs(conn, meters.c.id == row.meter_id)[0]
        policy = policies[meter.utility]
        until = friendly_until(now, policy, holidays, zone)
        if until is not None:  # another friendly stretch began (a holiday added since)
            conn.execute(
                update(supply_commands)
                .where(supply_commands.c.id == row.id)
                .values(not_before=until)
            )
            continue
        conn.execute(
            update(supply_commands)
            .where(supply_commands.c.id == row.id)
            .values(status="queued", not_before=None)
        )
        _set_desired(
            conn, meter.id, SupplyState.LIMITED if row.action == "limit" else SupplyState.OFF
        )
        _event(conn, meter.id, now, row.action, f"{row.reason}; friendly credit ended", row.id)
    # Battery meters that never woke before a command expired.
    expired = conn.execute(
        select(supply_commands.c.id, supply_commands.c.meter_id, supply_commands.c.action).where(
            supply_commands.c.status.in_(("queued", "sent")),
            supply_commands.c.expires_at.is_not(None),
            supply_commands.c.expires_at <= now,
        )
    ).all()
    for old in expired:
        conn.execute(
            update(supply_commands).where(supply_commands.c.id == old.id).values(status="expired")
        )
        _event(
            conn,
            old.meter_id,
            now,
            "expired",
            f"{old.action} never reached the meter",
            old.id,
            alert=True,
        )


def commands_to_send(
    conn: Connection, *, now: datetime, transport: str, awake: Iterable[str] = ()
) -> list[Command]:
    """Commands to put on the wire now, marked sent.

    Over MQTT a mains meter gets its queued commands at once, and unacknowledged
    ones again after RETRY_S; a battery meter only while it is awake (it just
    reported). Over HTTP a meter gets them in the answer to its own request.
    """
    awake = set(awake)
    rows = conn.execute(
        select(
            supply_commands.c.id,
            supply_commands.c.action,
            supply_commands.c.limit_w,
            supply_commands.c.reason,
            supply_commands.c.created_at,
            supply_commands.c.expires_at,
            supply_commands.c.status,
            supply_commands.c.last_sent_at,
            meters.c.serial,
            meters.c.power,
        )
        .join(meters, meters.c.id == supply_commands.c.meter_id)
        .where(supply_commands.c.status.in_(("queued", "sent")), meters.c.transport == transport)
        .order_by(supply_commands.c.created_at)
    ).all()
    out: list[Command] = []
    for r in rows:
        woke = r.serial in awake
        if (transport == "http" or r.power == "battery") and not woke:
            continue
        if (
            r.status == "sent"
            and not woke
            and r.last_sent_at is not None
            and (now - r.last_sent_at).total_seconds() < RETRY_S
        ):
            continue
        out.append(
            Command(
                r.id, r.serial, Action(r.action), r.created_at, r.expires_at, r.limit_w, r.reason
            )
        )
    if out:
        conn.execute(
            update(supply_commands)
            .where(supply_commands.c.id.in_([c.id for c in out]))
            .values(status="sent", attempts=supply_commands.c.attempts + 1, last_sent_at=now)
        )
    return out


MATCHES = {
    "on": {"on"},
    "off": {"off"},
    "limited": {"limited"},
    "armed": {"armed", "on"},  # the resident opened the armed valve
}
ACTION_STATE = {"cut": "off", "limit": "limited", "restore": "on", "arm": "armed"}


def report_state(
    conn: Connection,
    *,
    serial: str,
    state: SupplyState,
    at: datetime,
    command_id: str | None,
    policies: dict[str, Policy],
) -> str:
    """A meter's relay/valve state, perhaps acknowledging a command. Returns the verdict."""
    meter = next(iter(meter_refs(conn, meters.c.serial == serial)), None)
    if meter is None:
        return "unknown_meter"
    conn.execute(
        update(meters)
        .where(meters.c.id == meter.id)
        .values(reported_state=state.value, last_seen_at=at)
    )
    if command_id is not None:
        row = conn.execute(
            select(supply_commands.c.action, supply_commands.c.status).where(
                supply_commands.c.id == command_id, supply_commands.c.meter_id == meter.id
            )
        ).first()
        if row is not None and row.status in ("queued", "sent"):
            if state.value in MATCHES[ACTION_STATE[row.action]]:
                conn.execute(
                    update(supply_commands)
                    .where(supply_commands.c.id == command_id)
                    .values(status="acked", acked_at=at)
                )
            return "acked"
        if row is not None and row.status == "acked":
            return "duplicate"
    desired = meter.desired_state
    if desired == "armed" and state is SupplyState.ON:
        _set_desired(conn, meter.id, SupplyState.ON)
        _event(conn, meter.id, at, "opened", "the resident opened the armed valve")
        return "ok"
    if state.value in MATCHES[desired]:
        return "ok"
    if _open_commands(conn, meter.id):
        return "pending"  # a command is on its way; wait for its acknowledgement
    action = {
        "on": Action.RESTORE,
        "off": Action.CUT,
        "limited": Action.LIMIT,
        "armed": Action.ARM,
    }[desired]
    if meter.utility == Purpose.GAS.value and action is Action.RESTORE:
        # The valve is shut and we want it on: arm it, never open it remotely.
        action = Action.ARM
    command_id = _new_command(
        conn,
        meter,
        action,
        now=at,
        reason=f"meter reports {state.value}, wanted {desired}",
        policy=policies[meter.utility],
    )
    _event(
        conn,
        meter.id,
        at,
        "mismatch",
        f"meter reports {state.value}, wanted {desired}; {action.value} re-sent",
        command_id,
        alert=True,
    )
    return "mismatch"


def pending_summary(conn: Connection, now: datetime) -> list[dict[str, object]]:
    """Open commands with when they will land: the manager's view."""
    rows = conn.execute(
        select(
            supply_commands.c.id,
            supply_commands.c.action,
            supply_commands.c.status,
            supply_commands.c.reason,
            supply_commands.c.not_before,
            supply_commands.c.expires_at,
            supply_commands.c.created_at,
            meters.c.serial,
            meters.c.power,
            meters.c.wake_interval_s,
            meters.c.last_seen_at,
            units.c.code,
        )
        .join(meters, meters.c.id == supply_commands.c.meter_id)
        .outerjoin(units, units.c.id == meters.c.unit_id)
        .where(supply_commands.c.status.in_(OPEN))
        .order_by(supply_commands.c.created_at)
    ).all()
    out = []
    for r in rows:
        if r.status == "deferred":
            lands = r.not_before
        elif r.power == "battery":
            seen = r.last_seen_at or r.created_at
            lands = max(now, seen + timedelta(seconds=r.wake_interval_s))
        else:
            lands = now
        out.append(
            {
                "command_id": r.id,
                "meter": r.serial,
                "unit": r.code,
                "action": r.action,
                "status": r.status,
                "reason": r.reason,
                "expected_at": None if lands is None else lands.isoformat(),
                "expires_at": None if r.expires_at is None else r.expires_at.isoformat(),
            }
        )
    return out
