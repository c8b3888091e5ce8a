"""Opening lines from URLs, the scheme registry, and the wire-tap hook."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from terminal_drivers.errors import CommunicationError, ConfigurationError
from terminal_drivers.simulation.pty_link import PtyLink
from terminal_drivers.transport import (
    SCHEMES,
    Direction,
    LineSettings,
    TraceEvent,
    open_transport,
)
from terminal_drivers.transport.serial_port import SerialTransport
from terminal_drivers.transport.sim import SimTransport
from tests.terminal_drivers.support import no_leaked_threads

__all__ = ["no_leaked_threads"]


@pytest.fixture
def pty() -> Iterator[PtyLink]:
    link = PtyLink()
    yield link
    link.close()


def test_serial_url_settings(pty: PtyLink) -> None:
    transport = open_transport(f"serial://{pty.path}?baud=19200&parity=O&timeout=0.25")
    assert isinstance(transport, SerialTransport)
    assert transport.settings == LineSettings(baud=19200, parity="O")
    assert transport.timeout_hint == 0.25
    assert "19200 baud" in transport.description
    transport.close()


def test_a_bare_path_takes_the_device_defaults(pty: PtyLink) -> None:
    transport = open_transport(pty.path, defaults=LineSettings(baud=38400, parity="E"))
    assert isinstance(transport, SerialTransport)
    assert transport.settings.baud == 38400
    transport.close()


@pytest.mark.parametrize(
    "url",
    ["ftp://somewhere", "ttyUSB0", "serial:///dev/ttyS0?parity=X", "serial:///dev/x?baud=fast"],
)
def test_bad_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError):
        open_transport(url)


def test_a_missing_port_is_a_communication_error() -> None:
    with pytest.raises(CommunicationError, match="cannot open /dev/ttyNOPE"):
        open_transport("/dev/ttyNOPE")


def test_trace_sees_every_byte_both_ways(pty: PtyLink) -> None:
    import os

    seen: list[TraceEvent] = []
    transport = open_transport(pty.path, trace=seen.append)
    transport.write(b"\x10\x04\x01")
    assert os.read(pty.master_fd, 16) == b"\x10\x04\x01"
    os.write(pty.master_fd, b"\x12")
    assert transport.read(16, 0.5) == b"\x12"
    transport.close()
    assert [(e.direction, e.data) for e in seen] == [
        (Direction.WRITE, b"\x10\x04\x01"),
        (Direction.READ, b"\x12"),
    ]
    assert seen[0].timestamp <= seen[1].timestamp
    assert "tx 10 04 01" in str(seen[0])


def test_a_broken_trace_hook_does_not_break_the_line(pty: PtyLink) -> None:
    def broken(event: TraceEvent) -> None:
        raise RuntimeError("disk full")

    transport = open_transport(pty.path, trace=broken)
    transport.write(b"ok")
    transport.close()


def test_socket_url() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def echo() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(conn.recv(64).upper())

    thread = threading.Thread(target=echo)
    thread.start()
    seen: list[TraceEvent] = []
    transport = open_transport(f"socket://127.0.0.1:{port}", trace=seen.append)
    transport.write(b"abc")
    assert transport.read(3, 1.0) == b"ABC"
    transport.close()
    thread.join()
    server.close()
    assert len(seen) == 2


def test_sim_url_owns_its_simulator(no_leaked_threads: None) -> None:
    transport = open_transport("sim://printer")
    assert isinstance(transport, SimTransport)
    transport.write(b"\x10\x04\x04")
    assert transport.read(1, 0.5) == b"\x12"
    transport.close()  # stops the simulator: the leak check would fail otherwise


def test_unknown_simulator() -> None:
    with pytest.raises(ConfigurationError, match="no simulator"):
        open_transport("sim://toaster")


def test_a_new_scheme_is_one_registry_line(monkeypatch: pytest.MonkeyPatch, pty: PtyLink) -> None:
    # A technician's "spy" line could be a new module; here the serial opener
    # under another name stands in for it.
    monkeypatch.setitem(SCHEMES, "spy", "tests.terminal_drivers.transport.spy_module:open_spy")
    transport = open_transport(f"spy://{pty.path}")
    assert transport.url == f"spy://{pty.path}"
    transport.close()
