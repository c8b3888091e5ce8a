"""The result of a device's hardware check, as ``prepaid provision doctor`` shows it."""

from __future__ import annotations

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
