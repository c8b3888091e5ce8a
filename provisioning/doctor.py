"""``prepaid provision doctor``: every configured device's self-test.

The configuration names each device and its URL (``bill_acceptor:
serial:///dev/ttyUSB0?baud=9600``). The device name (or a ``sim://`` URL's
simulator) picks the self-test from ``terminal_drivers.self_test.SELF_TESTS``;
the few device kinds not registered there yet are in ``EXTRA_SELF_TESTS`` here.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

# Configuration device name -> self-test kind.
DEVICE_KINDS: dict[str, str] = {
    "bill_acceptor": "bill-acceptor",
    "coin_acceptor": "coin-acceptor",
    "receipt_printer": "printer",
    "printer": "printer",
    "card_reader": "card-reader",
    "card": "card-reader",
}
# Self-tests not (yet) in terminal_drivers' registry: kind -> "module:function(url)".
EXTRA_SELF_TESTS: dict[str, str] = {
    "card-reader": "terminal_drivers.card_reader.device:self_test",
}


@dataclass(frozen=True)
class DeviceCheck:
    name: str  # as configured: "bill_acceptor"
    url: str
    ok: bool
    device: str  # what the driver calls it: "bill acceptor (ID-003)"
    reason: str  # "" when ok
    advice: str  # what to do; "" when ok
    details: dict[str, str]


def kind_of(name: str, url: str) -> str | None:
    base = re.sub(r"[_-]?\d+$", "", name.lower().replace("-", "_"))
    if base in DEVICE_KINDS:
        return DEVICE_KINDS[base]
    parts = urlsplit(url)
    if parts.scheme == "sim":
        sim = (parts.netloc or parts.path.strip("/")).replace("-", "_")
        return DEVICE_KINDS.get(sim)
    if parts.scheme == "pcsc":
        return "card-reader"
    return None


def advice_for(reason: str, url: str) -> str:
    """One next step for the technician, from the failure's wording and the URL."""
    text = reason.lower()
    scheme = urlsplit(url).scheme
    if "what to do" in text or ": check" in text:
        return ""  # the driver already said what to do
    if "cannot open" in text or "no such file" in text or "could not open" in text:
        if scheme == "serial":
            return (
                "the port does not exist: check the USB cable, run 'ls /dev/ttyUSB* "
                "/dev/serial/by-id/', and fix the URL with 'prepaid provision config set'"
            )
        return "the device could not be opened: check it is connected and the URL is right"
    if "no reply" in text or "timeout" in text or "timed out" in text:
        return "check the cable, the device's power and its baud rate / protocol switches"
    if "pcscd" in text or scheme == "pcsc":
        return "check pcscd runs ('pcscd -f') and the reader is listed by 'pcsc_scan'"
    if "no self-test" in text:
        return f"name the device as one of {', '.join(sorted(DEVICE_KINDS))}"
    if "missing" in text and "install" in text:
        return "install this terminal's role: pip install 'prepaid[kiosk]' (or gate, turnstile)"
    return "fix what the message says, then run 'prepaid provision doctor' again"


def _self_test_function(kind: str) -> Callable[[str], object]:
    from terminal_drivers.self_test import SELF_TESTS, run_self_test

    if kind in SELF_TESTS:
        return lambda url: run_self_test(kind, url)
    module_name, func_name = EXTRA_SELF_TESTS[kind].split(":")
    func: Callable[[str], object] = getattr(importlib.import_module(module_name), func_name)
    return func


def check_device(name: str, url: str) -> DeviceCheck:
    """Run one device's self-test; never raises for a device or setup problem."""
    kind = kind_of(name, url)
    if kind is None:
        reason = f"no self-test for a device named {name!r}"
        return DeviceCheck(name, url, False, name, reason, advice_for(reason, url), {})
    try:
        result = _self_test_function(kind)(url)
    except ModuleNotFoundError as err:
        reason = f"the driver needs the package {err.name!r}, which is missing; install it"
        return DeviceCheck(name, url, False, kind, reason, advice_for(reason, url), {})
    except Exception as err:  # a driver's own error type, or a bug: report, never crash
        reason = f"{type(err).__name__}: {err}"
        return DeviceCheck(name, url, False, kind, reason, advice_for(reason, url), {})
    ok = bool(getattr(result, "ok", False))
    reason = "" if ok else str(getattr(result, "reason", "")) or "failed"
    return DeviceCheck(
        name=name,
        url=url,
        ok=ok,
        device=str(getattr(result, "device", kind)),
        reason=reason,
        advice="" if ok else advice_for(reason, url),
        details=dict(getattr(result, "details", {}) or {}),
    )


def run(devices: dict[str, str]) -> list[DeviceCheck]:
    return [check_device(name, url) for name, url in sorted(devices.items())]


def report(checks: list[DeviceCheck]) -> str:
    if not checks:
        return (
            "no devices configured (set them with 'prepaid provision config set devices.NAME=URL')"
        )
    width = max(len(c.name) for c in checks)
    url_width = max(len(c.url) for c in checks)
    lines = []
    for c in checks:
        verdict = "OK  " if c.ok else "FAIL"
        extra = ", ".join(f"{k}={v}" for k, v in sorted(c.details.items()))
        text = c.device if c.ok else f"{c.device}: {c.reason}"
        if c.ok and extra:
            text += f" ({extra})"
        lines.append(f"{verdict} {c.name:<{width}}  {c.url:<{url_width}}  {text}")
        if c.advice:
            lines.append(f"     {'':<{width}}  what to do: {c.advice}")
    failed = sum(not c.ok for c in checks)
    lines.append(
        f"{len(checks) - failed} of {len(checks)} devices OK"
        + (f", {failed} FAILED" if failed else "")
    )
    return "\n".join(lines)
