"""A serial simulator served on TCP, as a serial-to-Ethernet converter or a
network receipt printer (raw port 9100) would be: the driver opens
``socket://host:port`` and speaks the same protocol as over the pty.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading

from terminal_drivers.simulation.serial_device import SerialSimulator

log = logging.getLogger(__name__)


class TcpFront:
    def __init__(self, simulator: SerialSimulator, *, host: str = "127.0.0.1", port: int = 0):
        self.simulator = simulator
        self._server = socket.create_server((host, port))
        self._server.settimeout(0.1)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self._server.getsockname()[:2]
        return f"socket://{host}:{port}"

    def start(self) -> str:
        thread = threading.Thread(target=self._accept, name=f"sim-tcp-{self.url}", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self.url

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        self._server.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            log.info("%s simulator: host %s connected over TCP", self.simulator.name, peer)
            thread = threading.Thread(
                target=self._serve, args=(conn,), name=f"sim-tcp-{peer}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.1)
        self.simulator.sinks.append(conn.sendall)
        try:
            while not self._stop.is_set():
                try:
                    data = conn.recv(4096)
                except TimeoutError:
                    continue
                if not data:
                    return  # the host closed the connection
                reply = self.simulator.feed(data)
                if reply:
                    self.simulator.paced(conn.sendall, reply)
        except OSError:
            log.debug("%s simulator: TCP host went away", self.simulator.name, exc_info=True)
        finally:
            with contextlib.suppress(ValueError):
                self.simulator.sinks.remove(conn.sendall)
            conn.close()
