"""Every answer states the server's clock (``Server-Time``, unix seconds).

Terminals correct their own clock offset against it; a refusal for a stale
timestamp carries it too. Pure ASGI, so it costs next to nothing per request.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.signing import SERVER_TIME_HEADER

_NAME = SERVER_TIME_HEADER.lower().encode()


class ServerTimeMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                headers.append((_NAME, f"{time.time():.3f}".encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, stamped)
