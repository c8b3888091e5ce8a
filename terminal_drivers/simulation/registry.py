"""Every simulator ``prepaid sim`` and ``sim://`` can start: name -> ``module:function``.

The function takes keyword options (``baud``, ``pace``) and returns an object
with ``start() -> str`` (where to point the driver), ``stop()``, ``endpoint``
and ``handle_command(dict) -> dict``. A new simulator is one line here.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from terminal_drivers.errors import ConfigurationError

SIMULATORS: dict[str, str] = {
    "bill-acceptor": "terminal_drivers.bill_acceptor.simulator:create",
    "coin-acceptor": "terminal_drivers.coin_acceptor.simulator:create",
    "printer": "terminal_drivers.receipt_printer.simulator:create",
    "card": "terminal_drivers.card_reader.simulator:create",
    "relay-board": "terminal_drivers.relay_board.simulator:create",
    "uid-reader": "terminal_drivers.uid_reader.simulator:create",
    "qr-scanner": "terminal_drivers.qr_scanner.simulator:create",
}


class Simulator(Protocol):
    @property
    def endpoint(self) -> str: ...

    def start(self) -> str: ...

    def stop(self) -> None: ...

    def handle_command(self, request: dict[str, Any]) -> dict[str, Any]: ...


def create_simulator(name: str, **options: Any) -> Simulator:
    target = SIMULATORS.get(name)
    if target is None:
        raise ConfigurationError(f"no simulator {name!r}; known: {', '.join(sorted(SIMULATORS))}")
    module_name, func_name = target.split(":")
    factory = getattr(importlib.import_module(module_name), func_name)
    simulator: Simulator = factory(**options)
    return simulator
