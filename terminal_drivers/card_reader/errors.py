"""The card reader's errors: ``terminal_drivers.errors`` classes, named for cards.

What the caller does with each:

- ``CardRemoved``: the card left the field before the read finished; nothing
  from it is used. Ask the person to tap again.
- ``NoCard``: no card in the field when one was expected; wait for a tap.
- ``ReaderUnavailable``: no PC/SC service or no reader of that name; a technician.
- ``CardProtocolError``: the card answered something malformed or unexpected.
- ``CardNotGenuine``: the card failed the challenge and response or its data
  failed the MAC: a copied UID or copied data. Refuse it; never retry into success.
- ``CardNotSupported``: the card is of a kind the reader cannot use at all.
"""

from __future__ import annotations

from terminal_drivers.errors import (
    CommunicationError,
    DeviceNeedsTechnician,
    DeviceRefused,
    ProtocolError,
)


class CardRemoved(CommunicationError):
    """The card was removed (or lost power) before the exchange completed."""


class NoCard(CommunicationError):
    """No card is present in the reader."""


class ReaderUnavailable(DeviceNeedsTechnician):
    """The PC/SC service or the named reader is not there."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="reader_unavailable")


class CardProtocolError(ProtocolError):
    """The card's reply is malformed or not what the command allows."""


class CardNotGenuine(DeviceRefused):
    """The card could not prove it holds its diversified key: refuse it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="card_not_genuine")


class CardNotSupported(DeviceRefused):
    """The card cannot do what is asked (not even give its UID)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="card_not_supported")
