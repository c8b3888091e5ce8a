"""Contactless readers through PC/SC (pcscd), with pyscard's thin ``scard`` layer.

Flow: ``open_url("pcsc://Virtual PCD 00 00")`` gives a ``PcscReader``; it lists
readers, waits for a card to arrive or leave (``SCardGetStatusChange``), and
``connect()`` gives a ``CardConnection`` whose ``transmit`` sends one APDU.
Every PC/SC return code is translated here, by table, into the package's
errors, so callers never import pyscard.

Quirks this module absorbs (PLATFORM.md "Smart cards"):

- pcscd polls its readers, so it reports an insertion 0.1 to 0.5 s after the
  card arrives and a removal about 0.4 s after it left.
- Connecting right after a quick re-insert can fail with 0x80100067
  (SCARD_W_UNPOWERED_CARD): we wait until the reader says PRESENT and retry.
- A card swapped faster than pcscd polls: the first APDU fails with
  0x80100016; the connection resets the card once and resends.
- A card pulled in the middle of a command can come back as an empty response
  with success, before pcscd notices the removal; a response APDU always has
  SW1 SW2, so an empty one means the card left the field.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from types import TracebackType
from urllib.parse import unquote

from smartcard import scard

from terminal_drivers.card_reader.errors import (
    CardProtocolError,
    CardRemoved,
    NoCard,
    ReaderUnavailable,
)
from terminal_drivers.errors import CommunicationError, ConfigurationError, DriverError
from terminal_drivers.self_test import SelfTestResult
from terminal_drivers.transport.base import Direction, TraceEvent, TraceHook

URL_SCHEME = "pcsc://"
DEVICE = "contactless card reader (PC/SC)"

_U32 = 0xFFFFFFFF

# PC/SC return code -> (error class, what it means to the technician).
# pcsc-lite's pcsclite.h lists the codes; the classes say what the caller can do.
PCSC_ERRORS: dict[int, tuple[type[DriverError], str]] = {
    scard.SCARD_E_NO_SERVICE: (ReaderUnavailable, "the PC/SC service is not running"),
    scard.SCARD_E_SERVICE_STOPPED: (ReaderUnavailable, "the PC/SC service stopped"),
    scard.SCARD_E_NO_READERS_AVAILABLE: (ReaderUnavailable, "no reader is plugged in"),
    scard.SCARD_E_UNKNOWN_READER: (ReaderUnavailable, "no reader of that name"),
    scard.SCARD_E_READER_UNAVAILABLE: (ReaderUnavailable, "the reader was unplugged"),
    scard.SCARD_E_NO_SMARTCARD: (NoCard, "no card in the reader"),
    scard.SCARD_W_REMOVED_CARD: (CardRemoved, "the card was removed"),
    scard.SCARD_W_RESET_CARD: (CardRemoved, "the card was reset"),
    scard.SCARD_W_UNPOWERED_CARD: (CardRemoved, "the card is unpowered"),
    scard.SCARD_W_UNRESPONSIVE_CARD: (CardRemoved, "the card does not answer"),
    scard.SCARD_E_NOT_TRANSACTED: (CardRemoved, "the exchange with the card failed"),
    scard.SCARD_E_COMM_DATA_LOST: (CardRemoved, "data from the card was lost"),
    scard.SCARD_E_TIMEOUT: (CommunicationError, "timed out"),
    scard.SCARD_E_SHARING_VIOLATION: (CommunicationError, "another program holds the card"),
    scard.SCARD_E_PROTO_MISMATCH: (CardProtocolError, "no common protocol with the card"),
    scard.SCARD_E_INVALID_ATR: (CardProtocolError, "the card's ATR is invalid"),
}


_PROTOCOLS = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
# Return codes of a first exchange on a connection that a reset can recover.
_STALE = frozenset({scard.SCARD_E_NOT_TRANSACTED, scard.SCARD_W_RESET_CARD})


def pcsc_error(hresult: int, context: str) -> DriverError:
    code = hresult & _U32
    cls, meaning = PCSC_ERRORS.get(code, (CommunicationError, "PC/SC error"))
    text = scard.SCardGetErrorMessage(code)
    return cls(f"{context}: {meaning} (0x{code:08X}: {text})")


def _ok(hresult: int, context: str) -> None:
    if hresult & _U32 != scard.SCARD_S_SUCCESS:
        raise pcsc_error(hresult, context)


class _Context:
    """One PC/SC context; pcsc-lite contexts are not to be shared between threads."""

    def __init__(self) -> None:
        hresult, handle = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult & _U32 != scard.SCARD_S_SUCCESS:
            code = hresult & _U32
            raise ReaderUnavailable(
                "the PC/SC service does not answer: is pcscd running? "
                f"(0x{code:08X}: {scard.SCardGetErrorMessage(code)})"
            )
        self.handle = handle

    def release(self) -> None:
        scard.SCardReleaseContext(self.handle)

    def readers(self) -> list[str]:
        hresult, names = scard.SCardListReaders(self.handle, [])
        if hresult & _U32 == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        _ok(hresult, "listing readers")
        return list(names)

    def state(self, reader: str, known: int, timeout_ms: int) -> int | None:
        """The reader's event state once it differs from ``known``; None on timeout."""
        hresult, states = scard.SCardGetStatusChange(self.handle, timeout_ms, [(reader, known)])
        if hresult & _U32 == scard.SCARD_E_TIMEOUT:
            return None
        _ok(hresult, f"watching reader {reader!r}")
        event_state: int = states[0][1]
        if event_state & scard.SCARD_STATE_UNKNOWN:
            raise ReaderUnavailable(f"no PC/SC reader named {reader!r}")
        return event_state


def list_readers() -> list[str]:
    """The names of the readers pcscd knows now."""
    context = _Context()
    try:
        return context.readers()
    finally:
        context.release()


def reader_name_from_url(url: str) -> str:
    """``pcsc://<reader name>`` (percent-encoding allowed); an empty name is the first reader."""
    if not url.startswith(URL_SCHEME):
        raise ConfigurationError(f"not a PC/SC reader URL (pcsc://<reader name>): {url!r}")
    return unquote(url[len(URL_SCHEME) :]).strip("/")


class CardEvent(enum.Enum):
    INSERTED = "inserted"
    REMOVED = "removed"


def _present(event_state: int) -> bool:
    return bool(event_state & scard.SCARD_STATE_PRESENT) and not (
        event_state & scard.SCARD_STATE_MUTE
    )


class CardConnection:
    """A connected card. ``transmit`` raises ``CardRemoved`` once the card has left."""

    def __init__(self, reader: PcscReader, card: int, protocol: int) -> None:
        self._reader = reader
        self._card: int | None = card
        self._protocol = protocol
        self._exchanged = False

    def transmit(self, command: bytes) -> bytes:
        if self._card is None:
            raise CommunicationError("the card connection is closed")
        self._reader.trace(Direction.WRITE, command)
        hresult, response = scard.SCardTransmit(self._card, self._protocol, list(command))
        if hresult & _U32 in _STALE and not self._exchanged:
            # A card swapped faster than pcscd polls (about 0.4 s) leaves pcscd
            # holding the previous card's power state: the first exchange
            # fails with 0x80100016. Nothing has been exchanged on this
            # connection yet, so a reset (a fresh power-up and ATR) and one
            # resend is the same as connecting again, not a half result.
            hresult, self._protocol = scard.SCardReconnect(
                self._card, scard.SCARD_SHARE_SHARED, _PROTOCOLS, scard.SCARD_RESET_CARD
            )
            _ok(hresult, "resetting the card after a quick re-tap")
            hresult, response = scard.SCardTransmit(self._card, self._protocol, list(command))
        _ok(hresult, f"sending {command[:4].hex()} to the card")
        self._exchanged = True
        raw = bytes(response)
        self._reader.trace(Direction.READ, raw)
        if not raw:
            raise CardRemoved("the card left the field mid-command (no response)")
        return raw

    def close(self) -> None:
        card, self._card = self._card, None
        if card is not None:
            # LEAVE_CARD: the card may already be gone; the handle is freed either way.
            scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)

    def __enter__(self) -> CardConnection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class PcscReader:
    """One PC/SC reader, by name. Use from one thread (PC/SC contexts are per thread)."""

    def __init__(self, name: str, *, trace: TraceHook | None = None) -> None:
        self._requested = name
        self._trace = trace
        self._context: _Context | None = None
        self._known = scard.SCARD_STATE_UNAWARE

    @classmethod
    def from_url(cls, url: str, *, trace: TraceHook | None = None) -> PcscReader:
        return cls(reader_name_from_url(url), trace=trace)

    @property
    def url(self) -> str:
        return URL_SCHEME + self._requested

    def trace(self, direction: Direction, data: bytes) -> None:
        """Hand one APDU to the wire-tap (a technician's view of the exchange)."""
        if self._trace is not None:
            self._trace(TraceEvent(self.url, direction, data, time.monotonic()))

    def _ctx(self) -> _Context:
        if self._context is None:
            self._context = _Context()
        return self._context

    @property
    def name(self) -> str:
        """The reader's PC/SC name (the first reader when the URL named none)."""
        if self._requested:
            return self._requested
        readers = self._ctx().readers()
        if not readers:
            raise ReaderUnavailable("no PC/SC reader is plugged in: is pcscd running?")
        self._requested = readers[0]
        return self._requested

    def close(self) -> None:
        context, self._context = self._context, None
        if context is not None:
            context.release()

    def __enter__(self) -> PcscReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def self_test(self) -> SelfTestResult:
        """The technician's check: the service answers and the reader is there."""
        hint = "is pcscd running? is the reader plugged in?"
        wanted = f"no PC/SC reader named {self._requested!r}" if self._requested else "no reader"
        try:
            readers = self._ctx().readers()
        except DriverError as err:
            self.close()
            return SelfTestResult(DEVICE, self.url, False, f"{wanted}: {err}")
        listed = ", ".join(readers) or "none"
        if (self._requested and self._requested not in readers) or not readers:
            return SelfTestResult(DEVICE, self.url, False, f"{wanted}: {hint}", {"readers": listed})
        name = self.name
        state = self._ctx().state(name, scard.SCARD_STATE_UNAWARE, 0) or 0
        card = "present" if _present(state) else "none"
        return SelfTestResult(DEVICE, self.url, True, "", {"reader": name, "card": card})

    def is_card_present(self) -> bool:
        return _present(self._ctx().state(self.name, scard.SCARD_STATE_UNAWARE, 0) or 0)

    def wait_for_event(self, timeout: float) -> CardEvent | None:
        """The next insertion or removal, or None after ``timeout`` seconds.

        The first call reports the current state as an event (a card already
        present is INSERTED), so a caller never misses a card tapped before it looked.
        """
        deadline = time.monotonic() + timeout
        was_present = None if self._known == scard.SCARD_STATE_UNAWARE else _present(self._known)
        while True:
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            state = self._ctx().state(self.name, self._known, remaining_ms)
            if state is None:
                return None
            self._known = state & ~scard.SCARD_STATE_CHANGED
            now_present = _present(state)
            if now_present != was_present:
                return CardEvent.INSERTED if now_present else CardEvent.REMOVED
            if time.monotonic() >= deadline:
                return None

    def wait_for_card(self, timeout: float) -> bool:
        return self._wait_until(True, timeout)

    def wait_for_removal(self, timeout: float) -> bool:
        return self._wait_until(False, timeout)

    def _wait_until(self, present: bool, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        known = scard.SCARD_STATE_UNAWARE
        while True:
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            state = self._ctx().state(self.name, known, remaining_ms)
            if state is not None:
                known = state & ~scard.SCARD_STATE_CHANGED
                if _present(state) == present:
                    return True
            if time.monotonic() >= deadline:
                return False

    def connect(self, timeout: float = 2.0) -> CardConnection:
        """Connect to the card in the field, waiting up to ``timeout`` for one."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.wait_for_card(max(0.0, deadline - time.monotonic())):
                raise NoCard(f"no card in reader {self.name!r}")
            hresult, card, protocol = scard.SCardConnect(
                self._ctx().handle,
                self.name,
                scard.SCARD_SHARE_SHARED,
                _PROTOCOLS,
            )
            code = hresult & _U32
            # After a quick re-insert pcscd may still hold the old, unpowered
            # state; waiting for PRESENT again and retrying is what works.
            if code in (scard.SCARD_W_UNPOWERED_CARD, scard.SCARD_E_NO_SMARTCARD) and (
                time.monotonic() < deadline
            ):
                time.sleep(0.05)
                continue
            _ok(hresult, f"connecting to the card in {self.name!r}")
            return CardConnection(self, card, protocol)


class CardWatcher:
    """Calls ``on_event`` from a background thread for each insertion and removal."""

    def __init__(
        self, reader_name: str, on_event: Callable[[CardEvent], None], *, poll: float = 0.2
    ) -> None:
        self._reader_name = reader_name
        self._on_event = on_event
        self._poll = poll
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="card-watcher", daemon=True)
        self.error: DriverError | None = None

    def start(self) -> CardWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            with PcscReader(self._reader_name) as reader:
                while not self._stop.is_set():
                    event = reader.wait_for_event(self._poll)
                    if event is not None:
                        self._on_event(event)
        except DriverError as err:
            self.error = err


def open_url(url: str, *, trace: TraceHook | None = None) -> PcscReader:
    """Open ``pcsc://<reader name>``."""
    return PcscReader.from_url(url, trace=trace)
