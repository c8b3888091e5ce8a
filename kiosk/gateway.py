"""What the kiosk needs from the central server, as a narrow interface over HTTP.

The controller talks to a :class:`CentralGateway`; :class:`HttpCentral` is the
HTTP implementation against ``/v1``. Every request is signed with the kiosk's
own key (offline_queue's :class:`~offline_queue.client.SignedClient`): the
kiosk is an enrolled terminal and acts only as itself. Money does not go
through here: it is journalled and uploaded by the sync client (``sync``); the
card directory and offline balances come with the terminal snapshot
(``pull_snapshot``); a household's balances, once a resident has identified,
come from ``POST /v1/kiosk/household-wallets`` against the credential just verified.

Network trouble raises :class:`CentralUnavailable` (the kiosk goes offline and
keeps working); a refusal raises :class:`CentralRefused` with the server's code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, Protocol

from offline_queue.client import Answer, RequestsTransport, SignedClient
from offline_queue.errors import JournalCorrupt, SyncError, SyncRefused
from offline_queue.identity import Identity
from offline_queue.sync import SyncClient, SyncResult

if TYPE_CHECKING:
    from offline_queue.journal import Journal
    from offline_queue.snapshot import Snapshot, SnapshotStore


class GatewayError(Exception):
    """Base of the gateway's errors."""


class CentralUnavailable(GatewayError):
    """The server did not answer (network, timeout, 5xx): work offline, retry later."""


class CentralRefused(GatewayError):
    """The server answered no: the request itself is wrong (4xx). Not retried."""

    def __init__(self, message: str, *, code: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class LastTopUp:
    """When money last came into a wallet, by any channel (the server's ledger)."""

    at: str  # ISO local time in the estate's zone: "2026-11-20T18:02:11+08:00"
    amount: int
    method: str  # "cash", "qr", "staff_desk", ...


@dataclass(frozen=True)
class WalletBalance:
    purpose: str
    currency: str
    balance: int
    available: int
    floor: int
    # Metering's state of the unit's meter for this utility (None: not metered).
    days_left: int | None = None
    supply: str | None = None  # "on" | "off" | "limited"
    restore_pending: bool = False
    # The last seven local days' spend, oldest first: (ISO day, minor units). Empty when
    # the server does not say (an older server, or the snapshot's balances offline).
    spend_by_day: tuple[tuple[str, int], ...] = ()
    last_top_up: LastTopUp | None = None

    def to_dict(self) -> dict[str, Any]:
        """For the kiosk's wallet cache (JSON)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> WalletBalance:
        """From the cache or the server's answer; a field either lacks is its default,
        one it does not know is ignored (a cache row written before the field existed)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in stored.items() if k in known}
        for name in ("balance", "available", "floor"):
            values[name] = int(values[name])
        if values.get("days_left") is not None:
            values["days_left"] = int(values["days_left"])
        values["restore_pending"] = bool(values.get("restore_pending"))
        values["spend_by_day"] = tuple(_day(d) for d in values.get("spend_by_day") or ())
        top_up = values.get("last_top_up")
        values["last_top_up"] = (
            None
            if not top_up
            else LastTopUp(str(top_up["at"]), int(top_up["amount"]), str(top_up.get("method", "")))
        )
        return cls(**values)


def _day(stored: Any) -> tuple[str, int]:
    """A day's spend as the server sends it ({"day", "amount"}) or as cached ([day, amount])."""
    if isinstance(stored, dict):
        return str(stored["day"]), int(stored["amount"])
    day, amount = stored
    return str(day), int(amount)


@dataclass(frozen=True)
class OpenBill:
    bill_id: int
    period: str
    outstanding: int  # the whole bill still owed, late fee included
    due_on: str  # ISO date
    next_instalment: int | None  # what the next instalment costs; None: no plan


@dataclass(frozen=True)
class BillPaid:
    transaction_id: str
    paid: int
    remaining: int
    instalment: tuple[int, int] | None  # (seq, of)
    balance_after: int | None  # the paying wallet's balance, when paid from a wallet


class CentralGateway(Protocol):
    def health(self) -> None: ...

    def open_bills(self, unit: str) -> list[OpenBill]: ...

    def pay_bill(
        self, *, key: str, bill_id: int, unit: str, what: str, expected: int, method: str,
        source: str,
    ) -> BillPaid: ...  # fmt: skip

    def wallets(self, unit: str, *, credential: dict[str, str]) -> list[WalletBalance]: ...

    def pull_snapshot(self, store: SnapshotStore) -> Snapshot: ...

    def sync(self, journal: Journal) -> SyncResult: ...


class _Keyed:
    """A transport that adds the request's idempotency key (not a signed component:
    the server keys the write by it, and a changed key is simply another write)."""

    def __init__(self, inner: RequestsTransport) -> None:
        self.inner = inner
        self.key = ""

    def __call__(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        if self.key:
            headers = {**headers, "Idempotency-Key": self.key}
        return self.inner(method, path, body, headers)


class HttpCentral:
    """``CentralGateway`` over HTTP, every request signed as this terminal."""

    def __init__(self, base_url: str, *, identity: Identity, timeout: float = 3.0) -> None:
        self.transport = RequestsTransport(base_url, timeout=timeout)
        self._keyed = _Keyed(self.transport)
        self.client = SignedClient(identity, self._keyed)
        self._sync: SyncClient | None = None

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    @base_url.setter
    def base_url(self, url: str) -> None:
        self.transport.base_url = url.rstrip("/")

    def close(self) -> None:
        self.transport.close()

    def _call(self, method: str, path: str, body: Any = None, *, key: str = "") -> Any:
        self._keyed.key = key
        try:
            return self.client.call(method, path, body).json()
        except SyncRefused as err:
            if err.status >= 500:
                raise CentralUnavailable(f"{method} {path} answered {err.status}") from err
            code = err.code or "http_error"
            raise CentralRefused(str(err), code=code, status=err.status) from err
        except SyncError as err:
            raise CentralUnavailable(f"{method} {path}: {err}") from err
        finally:
            self._keyed.key = ""

    def health(self) -> None:
        self._call("GET", "/v1/health")

    def wallets(self, unit: str, *, credential: dict[str, str]) -> list[WalletBalance]:
        """The household's wallets, shown because ``credential`` (just verified) is its."""
        answer = self._call(
            "POST", "/v1/kiosk/household-wallets", {"unit": unit, "credential": credential}
        )
        return [WalletBalance.from_dict(w) for w in answer["wallets"]]

    def pull_snapshot(self, store: SnapshotStore) -> Snapshot:
        try:
            return store.pull(self.client)
        except SyncRefused as err:
            code = err.code or "http_error"
            raise CentralRefused(str(err), code=code, status=err.status) from err
        except SyncError as err:
            raise CentralUnavailable(f"snapshot: {err}") from err

    def sync(self, journal: Journal) -> SyncResult:
        """Upload what the server does not hold yet; each entry is applied once."""
        if self._sync is None or self._sync.journal is not journal:
            self._sync = SyncClient(journal, self.client)
        try:
            return self._sync.sync_once()
        except (SyncError, JournalCorrupt) as err:
            raise CentralUnavailable(f"journal sync: {err}") from err

    def open_bills(self, unit: str) -> list[OpenBill]:
        """The unit's open property-fee bills (the kiosk pays them from that wallet; a
        fund contribution, paid from the maintenance fund's, is not offered here)."""
        return [
            OpenBill(
                bill_id=int(b["bill_id"]),
                period=str(b["period"]),
                outstanding=int(b["outstanding"]),
                due_on=str(b["due_on"]),
                next_instalment=None
                if b.get("next_instalment") is None
                else int(b["next_instalment"]["amount"]),
            )
            for b in self._call("GET", f"/v1/fees/units/{unit}/bills")
            if b.get("kind") == "property_fee"
        ]

    def pay_bill(
        self, *, key: str, bill_id: int, unit: str, what: str, expected: int, method: str,
        source: str,
    ) -> BillPaid:  # fmt: skip
        body = {
            "what": what,
            "method": method,
            "source": source,
            "unit": unit,
            "expected": expected,
        }
        answer = self._call("POST", f"/v1/fees/bills/{bill_id}/payments", body, key=key)
        receipt = answer["receipt"]
        instalment = receipt.get("instalment")
        balance = answer["balances"].get(f"wallet:{unit}:property_fee")
        return BillPaid(
            transaction_id=str(answer["transaction_id"]),
            paid=int(receipt["paid"]),
            remaining=int(receipt["remaining"]),
            instalment=None if not instalment else (int(instalment["seq"]), int(instalment["of"])),
            balance_after=None if balance is None or method != "wallet" else int(balance),
        )
