"""A virtual contactless card: a TCP client of vpcd (vsmartcard), so pcscd sees a card.

The vpcd wire protocol (vsmartcard's ``vpcd.c``): every message is a 2-byte
big-endian length and a payload. A 1-byte payload is a control message from the
reader: 0 power off, 1 power on, 2 reset, 4 "send your ATR" (only 4 is
answered, with the ATR). A longer payload is a command APDU, answered with one
response APDU. Connecting is inserting the card; closing the socket is removing it.

``pull_after=N`` answers N APDUs and then drops the connection when the next
one arrives, without answering: the card leaves the field mid-command, as a
hurried hand does.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading

from terminal_drivers.card_reader.applet import Applet, CardProfile

log = logging.getLogger(__name__)

VPCD_HOST = "127.0.0.1"
# vpcd's default ports: reader "Virtual PCD 00 00" listens on 35963, "00 01" on 35964.
VPCD_PORT = 35963

_CTRL_POWER_OFF = 0
_CTRL_POWER_ON = 1
_CTRL_RESET = 2
_CTRL_ATR = 4


def reader_name_for_port(port: int) -> str:
    """The PC/SC name of the vpcd reader that listens on ``port``."""
    return f"Virtual PCD 00 {port - VPCD_PORT:02d}"


def _ack_now(sock: socket.socket) -> None:
    # vpcd writes each message as two send() calls (the length, then the payload)
    # on a socket with Nagle's algorithm on: the payload waits until the length is
    # acknowledged, and Linux delays that ACK by 40 ms. A card in a real reader's
    # field answers in about 10 ms per APDU, so the card acknowledges at once.
    # TCP_QUICKACK is Linux's and does not stick: it is set again after each read.
    if hasattr(socket, "TCP_QUICKACK"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    buf = b""
    while len(buf) < size:
        chunk = sock.recv(size - len(buf))
        if not chunk:
            return None
        _ack_now(sock)
        buf += chunk
    return buf


class VirtualCard:
    """A card in the field of a vpcd reader, served on a background thread."""

    def __init__(
        self,
        profile: CardProfile,
        *,
        host: str = VPCD_HOST,
        port: int = VPCD_PORT,
        pull_after: int | None = None,
    ) -> None:
        self.profile = profile
        self.host = host
        self.port = port
        self.pull_after = pull_after
        self.apdus_answered = 0
        self.pulled = threading.Event()
        self._applet = Applet(profile)
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()

    def insert(self, timeout: float = 2.0) -> None:
        """Connect to vpcd: the card enters the field."""
        try:
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
        except OSError as err:
            raise ConnectionError(
                f"vpcd is not listening on {self.host}:{self.port}: is pcscd running "
                f"with vsmartcard-vpcd installed? ({err})"
            ) from err
        sock.settimeout(None)
        self._sock = sock
        self._thread = threading.Thread(
            target=self._serve, name=f"virtual-card-{self.profile.uid.hex()}", daemon=True
        )
        self._thread.start()

    def remove(self) -> None:
        """Close the connection: the card leaves the field."""
        self._closing.set()
        sock, self._sock = self._sock, None
        if sock is not None:
            # The other side may have closed it already.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None

    @property
    def in_field(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _send(self, sock: socket.socket, payload: bytes) -> None:
        sock.sendall(struct.pack(">H", len(payload)) + payload)

    def _serve(self) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            while True:
                header = _recv_exact(sock, 2)
                if header is None:
                    break
                payload = _recv_exact(sock, struct.unpack(">H", header)[0])
                if payload is None:
                    break
                if len(payload) == 1:
                    self._control(sock, payload[0])
                    continue
                if self.pull_after is not None and self.apdus_answered >= self.pull_after:
                    log.info("virtual card pulled before answering %s", payload.hex())
                    self.pulled.set()
                    break
                self._send(sock, self._applet.process(payload))
                self.apdus_answered += 1
        except OSError:
            if not self._closing.is_set():
                log.exception("virtual card connection failed")
        finally:
            if self.pulled.is_set():
                # Close from this side: vpcd sees the card leave mid-command.
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def _control(self, sock: socket.socket, code: int) -> None:
        if code == _CTRL_ATR:
            self._send(sock, self.profile.atr)
        elif code in (_CTRL_POWER_ON, _CTRL_RESET, _CTRL_POWER_OFF):
            # A power cycle or reset ends any session: DESFire forgets the
            # authentication and the selected application.
            self._applet = Applet(self.profile)
        else:
            log.warning("vpcd sent unknown control byte %d", code)
