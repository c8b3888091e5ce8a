"""Errors of the provisioning tools, by what the technician can do about them."""

from __future__ import annotations


class ProvisioningError(Exception):
    """Base class of every provisioning error; its message says what to do."""


class NotEnrolled(ProvisioningError):
    """This terminal has no identity yet: run ``prepaid provision enroll``."""


class ServerUnreachable(ProvisioningError):
    """No answer from the server: check the URL, the network, the server."""


class ServerRefused(ProvisioningError):
    """The server answered with an error: ``status``, a stable ``code`` and a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{message} ({status} {code})")
        self.status = status
        self.code = code
        self.message = message
