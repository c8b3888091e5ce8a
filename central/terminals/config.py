"""Each terminal's configuration: versioned; the terminal pulls, applies, acknowledges.

A configuration is a JSON object. The keys the terminal apps read:

- ``devices``: device name -> URL (``bill_acceptor: serial:///dev/ttyUSB0?baud=9600``);
- ``denominations``: the notes and coins accepted, in minor units;
- ``language``; ``offline_limits`` (minor units); ``heartbeat_interval_s``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from central.db.types import utcnow
from central.errors import Conflict, InvalidRequest, NotFound
from central.terminals.tables import terminal_configs, terminals

MAX_CONFIG_BYTES = 32_000
DEFAULT_HEARTBEAT_S = 60

_DEFAULT_DEVICES: dict[str, dict[str, str]] = {
    "kiosk": {},
    "gate": {},
    "turnstile": {},
    "meter-gateway": {},
}


def default_config(terminal_type: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "devices": dict(_DEFAULT_DEVICES.get(terminal_type, {})),
        "language": "zh_CN",
        "heartbeat_interval_s": DEFAULT_HEARTBEAT_S,
        # Minor units a terminal may authorise offline (see DESIGN: offline limits).
        "offline_limits": {
            "per_transaction": 20_000,
            "per_credential_per_day": 50_000,
            "per_terminal": 500_000,
        },
    }
    if terminal_type == "kiosk":
        config["denominations"] = [500, 1000, 2000, 5000, 10000]
    return config


def validate(config: Any) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise InvalidRequest("a configuration is a JSON object", code="invalid_config")
    devices = config.get("devices", {})
    if not isinstance(devices, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and "://" in v for k, v in devices.items()
    ):
        raise InvalidRequest(
            "devices maps a device name to a URL such as serial:///dev/ttyUSB0?baud=9600",
            code="invalid_config",
        )
    interval = config.get("heartbeat_interval_s", DEFAULT_HEARTBEAT_S)
    if not isinstance(interval, int | float) or not 1 <= interval <= 3600:
        raise InvalidRequest(
            "heartbeat_interval_s is between 1 and 3600 seconds", code="invalid_config"
        )
    if len(json.dumps(config)) > MAX_CONFIG_BYTES:
        raise InvalidRequest("the configuration is too large", code="invalid_config")
    return config


def create_initial(
    conn: Connection, terminal_id: str, terminal_type: str, *, now: datetime | None = None
) -> None:
    conn.execute(
        insert(terminal_configs).values(
            terminal_id=terminal_id,
            version=1,
            config=json.dumps(default_config(terminal_type), sort_keys=True),
            created_at=now or utcnow(),
            created_by="enrolment",
        )
    )


def latest(conn: Connection, terminal_id: str) -> tuple[int, dict[str, Any]]:
    row = conn.execute(
        select(terminal_configs.c.version, terminal_configs.c.config)
        .where(terminal_configs.c.terminal_id == terminal_id)
        .order_by(terminal_configs.c.version.desc())
        .limit(1)
    ).first()
    if row is None:
        raise NotFound(f"there is no terminal {terminal_id!r}", code="unknown_terminal")
    config: dict[str, Any] = json.loads(row.config)
    return int(row.version), config


def put(
    conn: Connection,
    terminal_id: str,
    config: Any,
    *,
    base_version: int | None,
    actor: str,
    now: datetime | None = None,
) -> int:
    """Store a new version; ``base_version`` guards against overwriting someone's change."""
    config = validate(config)
    current = conn.execute(
        select(func.max(terminal_configs.c.version)).where(
            terminal_configs.c.terminal_id == terminal_id
        )
    ).scalar_one_or_none()
    if current is None:
        raise NotFound(f"there is no terminal {terminal_id!r}", code="unknown_terminal")
    if base_version is not None and base_version != current:
        raise Conflict(
            f"the configuration changed meanwhile (now version {current}, yours was "
            f"{base_version}): pull it and set again",
            code="config_conflict",
        )
    version = int(current) + 1
    conn.execute(
        insert(terminal_configs).values(
            terminal_id=terminal_id,
            version=version,
            config=json.dumps(config, sort_keys=True),
            created_at=now or utcnow(),
            created_by=actor,
        )
    )
    return version


def acknowledge(conn: Connection, terminal_id: str, version: int) -> None:
    """The terminal runs ``version`` now."""
    exists = conn.execute(
        select(terminal_configs.c.version).where(
            terminal_configs.c.terminal_id == terminal_id, terminal_configs.c.version == version
        )
    ).first()
    if exists is None:
        raise NotFound(
            f"terminal {terminal_id} has no configuration version {version}",
            code="unknown_config_version",
        )
    conn.execute(
        update(terminals).where(terminals.c.id == terminal_id).values(config_version_acked=version)
    )
