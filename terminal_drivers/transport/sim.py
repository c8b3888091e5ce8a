"""``sim://<device>``: start the built-in simulator on a pty and open it like hardware.

``sim://bill-acceptor?baud=9600&pace=1`` runs the ID-003 simulator in this
process; closing the transport stops it. The simulator is reachable as
``transport.simulator`` for in-process tests and demos.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from terminal_drivers.errors import ConfigurationError
from terminal_drivers.simulation.registry import Simulator, create_simulator
from terminal_drivers.transport.base import TraceHook, Transport
from terminal_drivers.transport.serial_port import LineSettings, open_serial


class SimTransport(Transport):
    """A serial transport to a simulator this transport owns."""

    def __init__(self, url: str, inner: Transport, simulator: Simulator) -> None:
        super().__init__(url)
        self.inner = inner
        self.simulator = simulator

    @property
    def description(self) -> str:
        return f"simulator {self.url} on {self.inner.description}"

    def set_trace(self, trace: TraceHook | None) -> None:
        self.inner.set_trace(trace)

    def _write(self, data: bytes) -> None:
        self.inner.write(data)

    def _read(self, size: int, timeout: float) -> bytes:
        return self.inner.read(size, timeout)

    def _discard_input(self) -> None:
        self.inner.discard_input()

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.simulator.stop()


def open_sim(url: str, *, trace: TraceHook | None, defaults: LineSettings) -> Transport:
    parts = urlsplit(url)
    name = parts.netloc or parts.path.strip("/")
    params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    try:
        baud = int(params.get("baud", defaults.baud))
    except ValueError as err:
        raise ConfigurationError(f"bad baud in {url!r}") from err
    pace = params.get("pace", "0").lower() in {"1", "true", "yes"}
    simulator = create_simulator(name, baud=baud, pace=pace)
    path = simulator.start()
    try:
        line = LineSettings(baud, defaults.parity, defaults.stopbits, defaults.bytesize)
        query = f"?baud={baud}&parity={line.parity}"
        inner = open_serial(f"serial://{path}{query}", trace=trace, defaults=line)
    except Exception:
        simulator.stop()
        raise
    return SimTransport(url, inner, simulator)
