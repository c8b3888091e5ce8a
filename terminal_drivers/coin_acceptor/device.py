"""The ccTalk coin acceptor driver: one ``CoinAcceptor`` owns the line and the event counter.

ccTalk "read buffered credit or error codes" (header 229) answers an event
counter and the last five events, newest first. The counter runs 1..255 and
wraps to 1; 0 means the acceptor has just powered up or reset. The driver
remembers the last counter it has turned into events, so:

- a lost or garbled reply is simply read again: the counter has not moved for
  the events already seen, so no coin is counted twice;
- after a reset the counter restarts from 0 and every event after it counts;
- more than five events between two polls cannot be recovered: the driver
  reports how many were lost instead of guessing.

Coins are worth what their coin id says (``EU200A`` is 200 minor units) unless
the caller gives a table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from terminal_drivers.coin_acceptor import cctalk
from terminal_drivers.coin_acceptor.codes import ERROR_CODES, FAULT_CODES, Header
from terminal_drivers.device_log import DeviceLog
from terminal_drivers.errors import (
    DeviceRefused,
    DeviceTimeout,
    DriverError,
    ProtocolError,
)
from terminal_drivers.self_test import SelfTestResult
from terminal_drivers.transport import LineSettings, TraceHook, Transport, open_transport

log = logging.getLogger(__name__)

LINE = LineSettings(baud=9600, parity="N")  # ccTalk: 9600 8N1 on one open-collector wire
DEVICE_NAME = "coin acceptor (ccTalk)"
HOST_ADDRESS = 1
COIN_ACCEPTOR_ADDRESS = 2  # the default address of the "coin acceptor" category
BUFFER_EVENTS = 5
INHIBITED = 2  # error code 2, "inhibited coin"
# ccTalk part 1: a message whose next byte is more than 50 ms late is abandoned.
INTER_BYTE_GAP = 0.05


class CoinEventKind(StrEnum):
    CREDITED = "credited"  # accepted into the cash box: money
    REJECTED = "rejected"  # given back to the customer
    FAULT = "fault"  # the mechanism needs a person, or a fraud attempt
    EVENTS_LOST = "events_lost"  # more than five events between polls: reconcile
    DEVICE_RESET = "device_reset"
    COMMUNICATION_RESTORED = "communication_restored"


@dataclass(frozen=True)
class CoinEvent:
    kind: CoinEventKind
    amount: int | None = None  # minor units
    position: int = 0  # coin position 1..16 in the acceptor's table
    coin_id: str = ""
    code: int = 0  # the ccTalk error code, or the count of lost events
    detail: str = ""


def value_of_coin_id(coin_id: str) -> int | None:
    """``EU200A`` -> 200: two letters of country, three digits of value, one of issue."""
    digits = coin_id[2:5]
    return int(digits) if len(coin_id) >= 5 and digits.isascii() and digits.isdigit() else None


class CoinAcceptor:
    def __init__(
        self,
        transport: Transport,
        *,
        address: int = COIN_ACCEPTOR_ADDRESS,
        mode: cctalk.ChecksumMode = cctalk.ChecksumMode.SIMPLE,
        reply_timeout: float = 0.2,
        retries: int = 3,
        coin_values: dict[int, int] | None = None,
        last_counter: int | None = None,
    ) -> None:
        self.transport = transport
        self.log = DeviceLog(log, DEVICE_NAME, transport.url)
        self.address = address
        self.mode = mode
        self.reply_timeout = reply_timeout
        self.retries = retries
        self.coin_values: dict[int, int] = dict(coin_values or {})
        self.coin_ids: dict[int, str] = {}
        # The counter of the last event turned into a CoinEvent. Journal it with
        # the credits and pass it back after a restart to resume exactly.
        self.last_counter = last_counter
        self.online = True
        self._restored = False
        self._enabled_positions: set[int] | None = None
        self._framer = cctalk.Framer(mode)

    @classmethod
    def open(cls, url: str, *, trace: TraceHook | None = None, **options: object) -> CoinAcceptor:
        transport = open_transport(url, trace=trace, defaults=LINE)
        return cls(transport, **options)  # type: ignore[arg-type]

    def close(self) -> None:
        self.transport.close()

    @property
    def url(self) -> str:
        return self.transport.url

    # -- one request, one reply -------------------------------------------------------
    def transact(self, header: int, data: bytes = b"") -> bytes:
        """Send a request, return the reply's data; retries lost and garbled replies."""
        request = cctalk.encode(cctalk.Frame(self.address, HOST_ADDRESS, header, data), self.mode)
        garbled = False
        for attempt in range(1, self.retries + 1):
            self._framer.clear()
            self._framer.take_discarded()
            self.transport.discard_input()
            self.transport.write(request)
            reply = self._read_reply()
            garbage = self._framer.take_discarded() + self._framer.pending
            if garbage:
                garbled = True
                self.log.warning("discarded bytes %s", garbage.hex(" "))
            if reply is None:
                self.log.info("no valid reply to header %d (try %d)", header, attempt)
                continue
            if not self.online:
                self.log.warning("communication restored")
                self.online, self._restored = True, True
            if reply.header == Header.NAK:
                raise DeviceRefused(f"{self.url}: header {header} refused (NAK)", reason="nak")
            if reply.header == Header.BUSY:
                time.sleep(self.reply_timeout)
                continue
            if reply.header != Header.REPLY:
                raise ProtocolError(f"{self.url}: unexpected reply {reply} to header {header}")
            return reply.data
        self.online = False
        where = self.transport.description
        if garbled:
            raise ProtocolError(
                f"only garbled replies to header {header} on {where}: check the baud rate "
                f"(9600 8N1) and the checksum mode ({self.mode})"
            )
        raise DeviceTimeout(f"no reply from address {self.address} on {where}")

    def _is_reply(self, frame: cctalk.Frame) -> bool:
        if frame.destination != HOST_ADDRESS:
            return False  # our own request echoed by the single-wire bus
        return self.mode == cctalk.ChecksumMode.CRC16 or frame.source == self.address

    def _read_reply(self) -> cctalk.Frame | None:
        deadline = time.monotonic() + self.reply_timeout
        while (remaining := deadline - time.monotonic()) > 0:
            waiting = bool(self._framer.pending)
            chunk = self.transport.read(
                64, min(remaining, INTER_BYTE_GAP) if waiting else remaining
            )
            frames = self._framer.feed(chunk) if chunk else self._framer.flush()
            for frame in frames:
                if self._is_reply(frame):
                    return frame
                self.log.debug("ignored frame %s (echo or another device)", frame)
            if not chunk and not waiting:
                return None
        return None

    # -- commands ------------------------------------------------------------------
    def simple_poll(self) -> None:
        self.transact(Header.SIMPLE_POLL)

    def address_poll(self, *, window: float = 1.3) -> list[int]:
        """Every address on the bus (header 253 to the broadcast address 0).

        Each device answers with one raw byte, its address, after 4 x address ms,
        so the replies never collide; the whole window is about 1.3 s.
        """
        request = cctalk.encode(cctalk.Frame(0, HOST_ADDRESS, Header.ADDRESS_POLL), self.mode)
        self.transport.discard_input()
        self.transport.write(request)
        received = b""
        deadline = time.monotonic() + window
        while (remaining := deadline - time.monotonic()) > 0:
            received += self.transport.read(64, remaining)
        if received.startswith(request):
            received = received[len(request) :]  # the echo of our own request
        return sorted(set(received))

    def reset(self) -> None:
        """Software reset: the acceptor restarts, inhibits everything, counter back to 0."""
        self.transact(Header.RESET_DEVICE)
        self.last_counter = 0
        self.log.info("reset")

    def identity(self) -> dict[str, str]:
        def text(header: Header) -> str:
            return self.transact(header).decode("ascii", "replace").strip()

        serial = self.transact(Header.REQUEST_SERIAL_NUMBER)
        return {
            "manufacturer": text(Header.REQUEST_MANUFACTURER_ID),
            "category": text(Header.REQUEST_EQUIPMENT_CATEGORY),
            "product": text(Header.REQUEST_PRODUCT_CODE),
            "serial": str(int.from_bytes(serial, "little")),
            "software": text(Header.REQUEST_SOFTWARE_REVISION),
        }

    def read_coin_ids(self) -> dict[int, str]:
        """Coin ids of positions 1..16; empty positions are left out."""
        ids: dict[int, str] = {}
        for position in range(1, 17):
            raw = self.transact(Header.REQUEST_COIN_ID, bytes([position]))
            coin_id = raw.decode("ascii", "replace")
            if coin_id.strip(" .\x00"):
                ids[position] = coin_id
                value = value_of_coin_id(coin_id)
                if value is not None:
                    self.coin_values.setdefault(position, value)
        self.coin_ids = ids
        return ids

    def enable(self, positions: Iterable[int] | None = None) -> None:
        """Accept these coin positions (all known ones if None); master inhibit off."""
        wanted = set(self.coin_values) if positions is None else set(positions)
        self._enabled_positions = wanted
        self._apply_inhibits()

    def disable(self) -> None:
        self._enabled_positions = None
        self.transact(Header.MODIFY_MASTER_INHIBIT, b"\x00")

    def _apply_inhibits(self) -> None:
        if self._enabled_positions is None:
            return
        mask = 0
        for position in self._enabled_positions:
            mask |= 1 << (position - 1)  # bit set = coin enabled (header 231)
        self.transact(Header.MODIFY_INHIBIT_STATUS, bytes([mask & 0xFF, mask >> 8]))
        # Master inhibit, bit 0: 1 = normal operation, 0 = every coin rejected.
        self.transact(Header.MODIFY_MASTER_INHIBIT, b"\x01")

    def inhibit_status(self) -> tuple[set[int], bool]:
        """(enabled positions, accepting at all) as the acceptor reports them."""
        raw = self.transact(Header.REQUEST_INHIBIT_STATUS)
        mask = raw[0] | (raw[1] << 8) if len(raw) >= 2 else 0
        master = self.transact(Header.REQUEST_MASTER_INHIBIT)
        return {n + 1 for n in range(16) if mask & (1 << n)}, bool(master and master[0] & 1)

    # -- polling ---------------------------------------------------------------------
    def poll(self) -> list[CoinEvent]:
        data = self.transact(Header.READ_BUFFERED_CREDIT)
        if len(data) != 1 + 2 * BUFFER_EVENTS:
            raise ProtocolError(f"{self.url}: buffered credit reply of {len(data)} bytes")
        events: list[CoinEvent] = []
        if self._restored:
            self._restored = False
            events.append(CoinEvent(CoinEventKind.COMMUNICATION_RESTORED))
        counter = data[0]
        pairs = [(data[1 + 2 * i], data[2 + 2 * i]) for i in range(BUFFER_EVENTS)]
        events += self._new_events(counter, pairs)
        return events

    def _new_events(self, counter: int, pairs: list[tuple[int, int]]) -> list[CoinEvent]:
        last = self.last_counter
        if last is None:
            # First poll of this driver with no journaled counter: what is in the
            # buffer was handled before (or never happened); start from here.
            self.last_counter = counter
            return []
        if counter == 0:
            self.last_counter = 0
            if last == 0:
                # No event since the last reset, or a power cut the counter cannot
                # show (0 before and after): the acceptor's master inhibit tells.
                return self._settings_lost(full=False)
            self.log.warning("the acceptor was reset or powered up")
            self._apply_inhibits()
            return [CoinEvent(CoinEventKind.DEVICE_RESET)]
        events: list[CoinEvent] = []
        if last == 0:
            # Counting from a reset: a power cut since then would not show in the
            # counter (it restarts from 0 too), but the lost inhibits do.
            events += self._settings_lost(full=False)
        new = counter if last == 0 else (counter - last) % 255
        if new > BUFFER_EVENTS and counter <= BUFFER_EVENTS:
            # The counter went back to a small number: a reset we did not see
            # (power cut) followed by a few events. Count those; re-send inhibits.
            self.log.warning("counter %d after %d: the acceptor was reset", counter, last)
            events.append(CoinEvent(CoinEventKind.DEVICE_RESET))
            self._apply_inhibits()
            new = counter
        if new > BUFFER_EVENTS:
            lost = new - BUFFER_EVENTS
            self.log.error("%d events lost (counter %d after %d)", lost, counter, last)
            events.append(
                CoinEvent(CoinEventKind.EVENTS_LOST, code=lost, detail="reconcile the cash box")
            )
            new = BUFFER_EVENTS
        self.last_counter = counter
        for result_a, result_b in reversed(pairs[:new]):  # oldest first
            events.append(self._event(result_a, result_b))
        if any(e.kind == CoinEventKind.REJECTED and e.code == INHIBITED for e in events):
            # A coin refused as inhibited: did the acceptor lose our settings? The
            # counter is already advanced, so these events must be returned anyway.
            try:
                events += self._settings_lost(full=True)
            except DriverError as err:
                self.log.warning("could not check the inhibits: %s", err)
        return events

    def _settings_lost(self, *, full: bool) -> list[CoinEvent]:
        """Compare the acceptor's inhibits with ours; after a reset we did not
        order (a power cut), re-send them and report it, since buffered events
        from before it are gone."""
        wanted = self._enabled_positions
        if wanted is None:
            return []
        master = self.transact(Header.REQUEST_MASTER_INHIBIT)
        intact = bool(master and master[0] & 1)
        if intact and full:
            raw = self.transact(Header.REQUEST_INHIBIT_STATUS)
            mask = raw[0] | (raw[1] << 8) if len(raw) >= 2 else 0
            intact = {n + 1 for n in range(16) if mask & (1 << n)} == wanted
        if intact:
            return []
        self.log.warning("the acceptor lost its inhibit settings: it was reset")
        self._apply_inhibits()
        detail = "the acceptor restarted: events before it may be lost, reconcile the cash box"
        return [CoinEvent(CoinEventKind.DEVICE_RESET, detail=detail)]

    def _event(self, result_a: int, result_b: int) -> CoinEvent:
        if result_a == 0:
            detail = ERROR_CODES.get(result_b, f"error code {result_b}")
            kind = CoinEventKind.FAULT if result_b in FAULT_CODES else CoinEventKind.REJECTED
            level = logging.ERROR if kind == CoinEventKind.FAULT else logging.INFO
            self.log.log(level, "%s", detail)
            return CoinEvent(kind, code=result_b, detail=detail)
        amount = self.coin_values.get(result_a)
        coin_id = self.coin_ids.get(result_a, "")
        if amount is None:
            self.log.error("coin position %d has no value: not credited", result_a)
            return CoinEvent(
                CoinEventKind.FAULT,
                position=result_a,
                detail=f"accepted a coin at position {result_a} with no known value: reconcile",
            )
        self.log.info("credited %d (position %d %s)", amount, result_a, coin_id)
        return CoinEvent(CoinEventKind.CREDITED, amount=amount, position=result_a, coin_id=coin_id)

    # -- the technician's check ------------------------------------------------------
    def self_test(self) -> SelfTestResult:
        where = self.transport.description
        try:
            self.simple_poll()
        except DeviceTimeout:
            reason = (
                f"no reply from ccTalk address {self.address} on {where}: check the cable, "
                "the acceptor's power and its address and checksum settings"
            )
            return SelfTestResult(DEVICE_NAME, self.url, False, reason)
        except DriverError as err:
            return SelfTestResult(DEVICE_NAME, self.url, False, str(err))
        try:
            details = self.identity()
        except DriverError as err:
            return SelfTestResult(DEVICE_NAME, self.url, False, f"identity not readable: {err}")
        return SelfTestResult(DEVICE_NAME, self.url, True, "", details)


def self_test(url: str, *, trace: TraceHook | None = None) -> SelfTestResult:
    try:
        acceptor = CoinAcceptor.open(url, trace=trace)
    except DriverError as err:
        return SelfTestResult(DEVICE_NAME, url, False, f"cannot open the port: {err}")
    try:
        return acceptor.self_test()
    finally:
        acceptor.close()
