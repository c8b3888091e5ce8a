"""Errors of the offline queue, grouped by what the caller can do about them."""

from __future__ import annotations


class QueueError(Exception):
    """Base class of every error of the offline queue."""


class JournalError(QueueError):
    """The journal cannot do this (a wrong kind, another terminal's file): a programming
    or installation error, not something to retry."""


class JournalCorrupt(JournalError):
    """The journal and the server disagree about what happened: call a technician."""


class SyncError(QueueError):
    """The upload did not get an answer (network, server down): retry later, with back-off."""


class SyncRefused(SyncError):
    """The server answered but refused the request as a whole (a signature, the clock)."""

    def __init__(self, message: str, *, status: int, code: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
