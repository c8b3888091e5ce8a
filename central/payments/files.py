"""Where a settlement file comes from: fetched from the provider, or read from disk.

Either way it is checked against the provider's signature before anything reads
its lines, so a file that was edited after the provider signed it is refused.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from central.errors import InvalidRequest
from central.payments.provider import ProviderApi
from domain.settlement_file import SettlementFile, SettlementFileError, parse


def checked(raw: bytes, secret: bytes, day: date) -> SettlementFile:
    try:
        file = parse(raw, secret)
    except SettlementFileError as err:
        raise InvalidRequest(
            f"settlement file refused: {err}", code="settlement_file_invalid"
        ) from err
    if file.day != day:
        raise InvalidRequest(
            f"the settlement file is of {file.day.isoformat()}, not {day.isoformat()}: "
            "give the file of the day you reconcile",
            code="settlement_day_mismatch",
        )
    return file


def fetch(provider: ProviderApi, day: date) -> SettlementFile:
    return checked(provider.settlement_file(day), provider.secret, day)


def read(path: Path, secret: bytes, day: date) -> SettlementFile:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise InvalidRequest(
            f"cannot read the settlement file {path}: {err.strerror}",
            code="settlement_file_missing",
        ) from err
    return checked(raw, secret, day)
