"""The result of a device's hardware check, as ``prepaid provision doctor`` shows it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SelfTestResult:
    device: str  # "bill acceptor (ID-003)"
    url: str
    ok: bool
    reason: str  # one sentence a technician can act on; "" when ok
    details: dict[str, str] = field(default_factory=dict)  # firmware version, status, ...

    def __str__(self) -> str:
        verdict = "OK" if self.ok else "FAIL"
        extra = f": {self.reason}" if self.reason else ""
        return f"{verdict} {self.device} at {self.url}{extra}"


# Each device kind's check, for ``prepaid provision doctor``: kind -> "module:function"
# taking a URL and returning a SelfTestResult. A new device is one line here.
SELF_TESTS: dict[str, str] = {
    "bill-acceptor": "terminal_drivers.bill_acceptor.device:self_test",
    "coin-acceptor": "terminal_drivers.coin_acceptor.device:self_test",
    "printer": "terminal_drivers.receipt_printer.device:self_test",
    "card": "terminal_drivers.card_reader.device:self_test",
    "relay-board": "terminal_drivers.relay_board.device:self_test",
    "uid-reader": "terminal_drivers.uid_reader.device:self_test",
    "qr-scanner": "terminal_drivers.qr_scanner.serial_scanner:self_test",
    "qr-camera": "terminal_drivers.qr_scanner.camera:self_test",
}


def run_self_test(kind: str, url: str) -> SelfTestResult:
    """Check the device of ``kind`` at ``url``; never raises for a device problem."""
    import importlib

    from terminal_drivers.errors import ConfigurationError, DriverError

    target = SELF_TESTS.get(kind)
    if target is None:
        known = ", ".join(sorted(SELF_TESTS))
        raise ConfigurationError(f"no self-test for device kind {kind!r} ({known})")
    module_name, func_name = target.split(":")
    check: Callable[[str], SelfTestResult] = getattr(
        importlib.import_module(module_name), func_name
    )
    try:
        return check(url)
    except DriverError as err:
        return SelfTestResult(kind, url, False, str(err))
