"""Structured logging for drivers: every record names the device and its URL.

``DeviceLog(logger, "bill acceptor", url)`` prefixes each message with the
device and URL (for a plain log file) and adds both as ``extra`` fields
(``record.device``, ``record.url``) for a JSON formatter or a log shipper.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any


class DeviceLog(logging.LoggerAdapter[logging.Logger]):
    def __init__(self, logger: logging.Logger, device: str, url: str) -> None:
        super().__init__(logger, {"device": device, "url": url})
        self.prefix = f"{device} {url}"

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        extra = dict(self.extra or {})
        extra.update(kwargs.get("extra") or {})
        kwargs["extra"] = extra
        return f"{self.prefix}: {msg}", kwargs
