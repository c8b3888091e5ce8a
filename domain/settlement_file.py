"""The payment provider's daily settlement file: the format both sides read.

A CSV in three blocks, as providers' merchant bills are laid out: a header (which
file, which merchant, which day), one line per payment or refund the provider
settled that day, then the totals; the last line signs every byte before it
with the shared secret (HMAC-SHA256 over ``<timestamp>.<nonce>.<bytes>``, as
:mod:`domain.provider_signature` signs a callback), so a file saved to disk and
handed over later is checked as surely as one just fetched::

    #prepaid-settlement,v1
    settlement_id,merchant,date,timezone,currency
    stl-harbour-20261125,harbour,2026-11-25,Asia/Shanghai,CNY
    type,time,order_id,refund_id,provider_ref,gross,fee,net
    payment,2026-11-25T10:02:11+08:00,kiosk-01-ab12-3f,,sbx-7c1e,5000,30,4970
    refund,2026-11-25T15:40:00+08:00,kiosk-01-ab12-3f,rf-91c2,,-2000,-12,-1988
    total,,,,,3000,18,2982
    #signature,1764036000,5e0c...,9a41...

Amounts are integers in minor units; a refund's gross, fee and net are negative
(the provider hands the fee of the refunded part back), so the totals are plain
sums and ``net = gross - fee`` on every line. Pure: bytes in, records out.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from domain.provider_signature import sign

MAGIC = "#prepaid-settlement,v1"
HEADER = ("settlement_id", "merchant", "date", "timezone", "currency")
COLUMNS = ("type", "time", "order_id", "refund_id", "provider_ref", "gross", "fee", "net")
SIGNATURE = "#signature"
TYPES = ("payment", "refund")


class SettlementFileError(ValueError):
    """The file is not a settlement file, or not the one the provider signed."""


@dataclass(frozen=True, slots=True)
class Line:
    number: int  # the line's number in the file, for messages
    type: str  # payment | refund
    time: str  # ISO 8601 with the provider's offset
    order_id: str
    refund_id: str
    provider_ref: str
    gross: int
    fee: int
    net: int

    @property
    def reference(self) -> str:
        """What names the movement on both sides: the refund id, else the order id."""
        return self.refund_id if self.type == "refund" else self.order_id


@dataclass(frozen=True, slots=True)
class SettlementFile:
    settlement_id: str
    merchant: str
    day: date
    timezone: str
    currency: str
    lines: tuple[Line, ...]
    gross: int
    fee: int
    net: int
    # SHA-256 of the signed content: the signature line carries a fresh timestamp and
    # nonce each time the file is fetched, so the same day's file keeps its digest.
    digest: str


def render(
    *,
    settlement_id: str,
    merchant: str,
    day: date,
    timezone: str,
    currency: str,
    lines: Sequence[Line],
    secret: bytes,
    timestamp: int,
    nonce: str,
) -> bytes:
    """The signed file (what a provider publishes; the sandbox uses it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    out.write(MAGIC + "\n")
    writer.writerow(HEADER)
    writer.writerow((settlement_id, merchant, day.isoformat(), timezone, currency))
    writer.writerow(COLUMNS)
    for ln in lines:
        writer.writerow(
            (ln.type, ln.time, ln.order_id, ln.refund_id, ln.provider_ref, ln.gross, ln.fee, ln.net)
        )
    totals = [sum(getattr(ln, k) for ln in lines) for k in ("gross", "fee", "net")]
    writer.writerow(("total", "", "", "", "", *totals))
    body = out.getvalue().encode()
    signature = sign(secret, body, timestamp, nonce)
    return body + f"{SIGNATURE},{timestamp},{nonce},{signature}\n".encode()


def _verify(raw: bytes, secret: bytes) -> bytes:
    """The signed part of ``raw``; refuses a file the secret did not sign."""
    body, _, last = raw.rstrip(b"\n").rpartition(b"\n")
    fields = last.decode(errors="replace").split(",")
    if (
        len(fields) != 4
        or fields[0] != SIGNATURE
        or not (fields[1].isascii() and fields[1].isdigit())
    ):
        raise SettlementFileError(
            "the file does not end in the provider's signature line: it is not a "
            "settlement file as the provider published it"
        )
    body += b"\n"
    expected = sign(secret, body, int(fields[1]), fields[2])
    if not hmac.compare_digest(expected, fields[3]):
        raise SettlementFileError(
            "the provider's signature does not match the file: it was changed after the "
            "provider signed it, or it was signed with another secret; fetch it again"
        )
    return body


def _integer(value: str, where: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise SettlementFileError(f"{where}: {value!r} is not an amount in minor units") from None


def _line(number: int, row: list[str]) -> Line:
    where = f"line {number}"
    if len(row) != len(COLUMNS):
        raise SettlementFileError(f"{where}: {len(row)} fields, expected {len(COLUMNS)}")
    kind, time, order_id, refund_id, ref = row[:5]
    gross, fee, net = (_integer(v, where) for v in row[5:])
    if kind not in TYPES:
        raise SettlementFileError(f"{where}: type {kind!r} is neither payment nor refund")
    if not order_id or (kind == "refund" and not refund_id):
        raise SettlementFileError(f"{where}: a {kind} names its order (and a refund its id)")
    if (gross > 0) != (kind == "payment") or gross == 0:
        raise SettlementFileError(f"{where}: a payment's gross is positive, a refund's negative")
    if net != gross - fee:
        raise SettlementFileError(f"{where}: net {net} is not gross {gross} less fee {fee}")
    return Line(number, kind, time, order_id, refund_id, ref, gross, fee, net)


def parse(raw: bytes, secret: bytes) -> SettlementFile:
    """Check the signature, then every line and the totals; errors name the line."""
    body = _verify(raw, secret)
    try:
        rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error) as e:
        raise SettlementFileError(
            f"the file is not UTF-8 CSV ({e}): not a settlement file as the format defines it"
        ) from e
    if len(rows) < 5 or ",".join(rows[0]) != MAGIC:
        raise SettlementFileError(f"line 1: expected {MAGIC!r}: not a settlement file")
    if tuple(rows[1]) != HEADER or len(rows[2]) != len(HEADER) or tuple(rows[3]) != COLUMNS:
        raise SettlementFileError("lines 2-4: the header is not the settlement format's")
    settlement_id, merchant, day_text, timezone, currency = rows[2]
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise SettlementFileError(f"line 3: {day_text!r} is not a date") from None
    lines = tuple(_line(n, row) for n, row in enumerate(rows[4:-1], start=5))
    seen: set[tuple[str, str]] = set()
    for ln in lines:
        if (ln.type, ln.reference) in seen:
            raise SettlementFileError(f"line {ln.number}: {ln.type} {ln.reference} twice")
        seen.add((ln.type, ln.reference))
    total = rows[-1]
    if len(total) != len(COLUMNS) or total[0] != "total":
        raise SettlementFileError(f"line {len(rows)}: expected the totals line")
    gross, fee, net = (_integer(v, f"line {len(rows)}") for v in total[5:])
    sums = tuple(sum(getattr(ln, k) for ln in lines) for k in ("gross", "fee", "net"))
    if (gross, fee, net) != sums:
        raise SettlementFileError(
            f"line {len(rows)}: the totals {gross}, {fee}, {net} are not the sums of the "
            f"lines ({sums[0]}, {sums[1]}, {sums[2]})"
        )
    return SettlementFile(
        settlement_id,
        merchant,
        day,
        timezone,
        currency,
        lines,
        gross,
        fee,
        net,
        hashlib.sha256(body).hexdigest(),
    )
