"""The turnstile's settings file: one JSON document, read once at start.

::

    {
      "terminal_id": "turnstile-gym-1",
      "server": "https://estate.example/",
      "facility": {"code": "gym", "name": "Gym", "kind": "gym", "pricing": "per_use",
                   "price": "15.00", "hours": {"mon-sun": ["06:00-22:00"]},
                   "allow_low_assurance": true, "low_assurance_daily_cap": 3000},
      "currency": "CNY", "timezone": "Asia/Shanghai",
      "relay": {"url": "/dev/ttyUSB0", "unit": 1, "channel": 1, "pulse_s": 0.3,
                "passage_timeout_s": 8},
      "readers": {"uid": "/dev/ttyUSB1", "qr": "/dev/ttyACM0", "camera": "0",
                  "card": "pcsc://ACS ACR122U 00 00", "exit_uid": "/dev/ttyUSB2"},
      "terminal_dir": "/var/lib/prepaid/terminal",
      "journal": "/var/lib/prepaid/turnstile-journal.sqlite3",
      "snapshot": "/var/lib/prepaid/snapshot.json",
      "passback_timeout_s": 7200,
      "qr_token_key": "<hex>"
    }

The facility block is what ``GET /v1/facilities/{code}`` answers, so a
technician can paste it; every reader is optional; ``exit_*`` readers are on
the way out (a pass shown there may enter again). With ``qr_token_key`` a QR
code is a resident's signed token (``PPQ1.<unit>.<expiry>.<mac>``, the
residents' app's format, verified as the kiosk does); without it a QR code is
a credential looked up in the snapshot. With ``server`` the journal is
uploaded and the snapshot pulled every ``sync_s`` (kept encrypted in the
journal's file); without it the ``snapshot`` file is read, and re-read when it
changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from domain.facilities import Facility, FacilityKind, OpeningHours, PerMinute, Pricing


class ConfigError(ValueError):
    """The settings file is missing something or holds a wrong value."""


def facility_from_json(data: dict[str, Any]) -> Facility:
    try:
        per_minute = None
        if data.get("rate_per_minute") is not None and data.get("max_minutes"):
            per_minute = PerMinute(
                Decimal(str(data["rate_per_minute"])),
                max_minutes=int(data["max_minutes"]),
                minimum_minutes=int(data.get("minimum_minutes", 1)),
                grace_s=int(data.get("grace_s", 0)),
            )
        hours = data.get("hours")
        return Facility(
            code=str(data["code"]),
            name=str(data.get("name", data["code"])),
            kind=FacilityKind(data.get("kind", "gym")),
            pricing=Pricing(data.get("pricing", "per_use")),
            hours=OpeningHours.parse(hours) if hours else OpeningHours.always(),
            price=Decimal(str(data.get("price", "0"))),
            per_minute=per_minute,
            allow_low_assurance=bool(data.get("allow_low_assurance", True)),
            low_assurance_daily_cap=int(data.get("low_assurance_daily_cap", 0)),
            in_service=bool(data.get("in_service", True)),
        )
    except (KeyError, ValueError, ArithmeticError) as err:
        raise ConfigError(f"facility: {err}") from err


@dataclass
class TurnstileConfig:
    terminal_id: str
    facility: Facility
    currency: str = "CNY"
    timezone: str = "Asia/Shanghai"
    relay: dict[str, Any] = field(default_factory=dict)
    readers: dict[str, str] = field(default_factory=dict)
    terminal_dir: str = ""
    journal: str = "turnstile-journal.sqlite3"
    snapshot: str = "snapshot.json"
    passback_timeout_s: float = 7200.0
    qr_token_key: str = ""  # hex: the key residents' QR tokens are signed with
    server: str = ""  # the central server: journal upload and snapshot pulls
    sync_s: float = 10.0

    @classmethod
    def load(cls, path: Path) -> TurnstileConfig:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ConfigError(f"{path}: {err}") from err
        if "url" not in data.get("relay", {}):
            raise ConfigError(f"{path}: relay.url is needed (the turnstile's relay board)")
        try:
            return cls(
                terminal_id=str(data["terminal_id"]),
                facility=facility_from_json(data["facility"]),
                currency=str(data.get("currency", "CNY")),
                timezone=str(data.get("timezone", "Asia/Shanghai")),
                relay=dict(data.get("relay", {})),
                readers={k: str(v) for k, v in data.get("readers", {}).items()},
                terminal_dir=str(data.get("terminal_dir", "")),
                journal=str(data.get("journal", "turnstile-journal.sqlite3")),
                snapshot=str(data.get("snapshot", "snapshot.json")),
                qr_token_key=str(data.get("qr_token_key", "")),
                server=str(data.get("server", "")),
                sync_s=float(data.get("sync_s", 10.0)),
                # The facility block from the server carries it; a top-level value wins.
                passback_timeout_s=float(
                    data.get("passback_timeout_s", data["facility"].get("passback_timeout_s", 7200))
                ),
            )
        except KeyError as err:
            raise ConfigError(f"{path}: missing {err}") from err
