"""Errors of the central server, grouped by what the caller can do about them.

Each carries a stable machine-readable ``code`` and a human message; the API
turns them into a 4xx answer with both, and writes nothing.
"""

from __future__ import annotations


class CentralError(Exception):
    """Base class of every error the central server reports to a caller."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidRequest(CentralError):
    """The request itself is wrong: fix it and send it again."""

    status = 422
    code = "invalid_request"


class NotFound(CentralError):
    """Something the request names does not exist: check the identifier."""

    status = 404
    code = "not_found"


class Refused(CentralError):
    """A business rule says no (not enough money, a closed fund): nothing to retry."""

    status = 409
    code = "refused"


class Conflict(CentralError):
    """The request clashes with one already made (an idempotency key reused)."""

    status = 409
    code = "conflict"


class Unauthorized(CentralError):
    """No valid credentials: sign in again."""

    status = 401
    code = "unauthorized"


class Forbidden(CentralError):
    """Valid credentials that may not do this."""

    status = 403
    code = "forbidden"


class Unavailable(CentralError):
    """The server cannot do this now (a missing gateway, a provider down): try later."""

    status = 503
    code = "unavailable"
