"""The simulator control channel: JSON lines over a loopback TCP socket.

One request per line, one reply per line::

    -> {"cmd": "insert", "value": 20}
    <- {"ok": true, "result": {"queued": 20}}
    -> {"cmd": "fly"}
    <- {"ok": false, "error": "unknown command 'fly'; known: ..."}

Anything that has ``handle_command(dict) -> dict`` can be served, so the card
simulator uses the same channel.
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import threading
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Controllable(Protocol):
    def handle_command(self, request: dict[str, Any]) -> dict[str, Any]: ...


def answer(target: Controllable, line: bytes) -> dict[str, Any]:
    """One request line in, one reply object out; never raises."""
    try:
        request = json.loads(line)
        if not isinstance(request, dict):
            raise ValueError("a request is a JSON object with a 'cmd' key")
        return {"ok": True, "result": target.handle_command(request)}
    except Exception as err:  # the reply carries the error; the channel stays up
        return {"ok": False, "error": str(err)}


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        for line in self.rfile:
            if not line.strip():
                continue
            reply = answer(self.server.target, line)
            self.wfile.write(json.dumps(reply).encode() + b"\n")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], target: Controllable) -> None:
        self.target = target
        super().__init__(address, _Handler)


class ControlServer:
    """Serves one simulator's commands on ``127.0.0.1:port`` (port 0 picks a free one)."""

    def __init__(self, target: Controllable, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), target)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"tcp://{host!s}:{port}"

    def start(self) -> str:
        self._thread.start()
        return self.address

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)


def send_command(address: str, request: dict[str, Any], *, timeout: float = 2.0) -> dict[str, Any]:
    """A client for tests and scripts: send one request to ``tcp://host:port``."""
    host, port = address.removeprefix("tcp://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(json.dumps(request).encode() + b"\n")
        reply = sock.makefile("rb").readline()
    result: dict[str, Any] = json.loads(reply)
    return result
