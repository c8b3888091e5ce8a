"""The card simulator: virtual cards tapped on a vpcd reader, driven by commands.

``prepaid sim card`` runs it; tests build it with ``create(port=...)``. The
driver points at ``pcsc://Virtual PCD 00 00`` (or ``00 01`` for port 35964),
exactly as it would at a hardware reader. Control commands (JSON objects, the
same channel as every simulator, see ``terminal_drivers.simulation.control``):

- ``{"cmd": "tap", "card": "1001"}``: a genuine card with that number
- ``{"cmd": "clone", "card": "1001"}``: its copy: same UID and data, not the key
- ``{"cmd": "uid_only", "uid": "0A0B0C0D"}``: a card that gives only a UID
- ``{"cmd": "pull", "card": "1001", "after": 3}``: a genuine card that leaves the
  field when the reader sends its 4th APDU; without ``card``, arms the card
  already in the field
- ``{"cmd": "remove"}``, ``{"cmd": "state"}``

Genuine cards are personalised with the demo master key (``demo_keys``), so a
reader configured with the same key accepts them.
"""

from __future__ import annotations

import hashlib
import subprocess
import threading
from typing import Any

from terminal_drivers.card_reader.applet import CardKind, CardProfile
from terminal_drivers.card_reader.demo_keys import DEMO_MASTER_KEY, DEMO_SYSTEM_ID
from terminal_drivers.card_reader.errors import ReaderUnavailable
from terminal_drivers.card_reader.pcsc import URL_SCHEME, PcscReader
from terminal_drivers.card_reader.pcscd import ensure_pcscd, stop_pcscd
from terminal_drivers.card_reader.virtual_card import (
    VPCD_HOST,
    VPCD_PORT,
    VirtualCard,
    reader_name_for_port,
)

# ISO/IEC 7816-6 manufacturer code of NXP: the first byte of a DESFire's 7-byte UID.
_NXP = 0x04
_REMOVAL_TIMEOUT = 2.0


def demo_uid(card_number: str) -> bytes:
    """A stable 7-byte UID for a demo card number, so a clone can copy it."""
    return bytes([_NXP]) + hashlib.sha256(b"uid:" + card_number.encode()).digest()[:6]


class CardSimulator:
    """Owns the one virtual card in one vpcd reader."""

    def __init__(
        self,
        *,
        host: str = VPCD_HOST,
        port: int = VPCD_PORT,
        master_key: bytes = DEMO_MASTER_KEY,
        system_id: bytes = DEMO_SYSTEM_ID,
        start_pcscd: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self._start_pcscd = start_pcscd
        self._pcscd: subprocess.Popen[bytes] | None = None
        self._master_key = master_key
        self._system_id = system_id
        self._card: VirtualCard | None = None
        self._lock = threading.Lock()

    @property
    def reader_name(self) -> str:
        return reader_name_for_port(self.port)

    @property
    def endpoint(self) -> str:
        return URL_SCHEME + self.reader_name

    def start(self) -> str:
        """Check the vpcd reader is there; return where to point the driver.

        Nothing runs until a card is tapped. With ``start_pcscd``, starts pcscd
        when none runs (and stops it in ``stop``). Raises ``ReaderUnavailable``
        with the reason when pcscd or its vpcd reader is missing.
        """
        if self._start_pcscd:
            self._pcscd = ensure_pcscd(self.reader_name)
        with PcscReader(self.reader_name) as reader:
            result = reader.self_test()
        if not result.ok:
            self.stop()
            raise ReaderUnavailable(
                f"{result.reason}; the card simulator needs pcscd (pcscd -f -a) "
                "and the vsmartcard-vpcd package"
            )
        return self.endpoint

    def stop(self) -> None:
        try:
            self.remove()
        finally:
            pcscd, self._pcscd = self._pcscd, None
            stop_pcscd(pcscd)

    def __enter__(self) -> CardSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the control API ------------------------------------------------------
    def genuine(self, card_number: str) -> CardProfile:
        return CardProfile.genuine(
            uid=demo_uid(card_number),
            card_number=card_number,
            master_key=self._master_key,
            system_id=self._system_id,
        )

    def present(self, profile: CardProfile, *, pull_after: int | None = None) -> VirtualCard:
        """Put ``profile`` in the field (taking out any card already there first)."""
        with self._lock:
            self._remove_locked(wait=True)
            card = VirtualCard(profile, host=self.host, port=self.port, pull_after=pull_after)
            card.insert()
            self._card = card
            return card

    def tap(self, card_number: str) -> VirtualCard:
        return self.present(self.genuine(card_number))

    def tap_clone(self, card_number: str) -> VirtualCard:
        return self.present(self.genuine(card_number).clone())

    def tap_uid_only(self, uid: bytes) -> VirtualCard:
        return self.present(CardProfile.uid_only(uid=uid))

    def pull_mid_read(self, card_number: str | None = None, *, after: int = 3) -> VirtualCard:
        """A card that leaves the field when the reader sends APDU number ``after + 1``."""
        if card_number is not None:
            return self.present(self.genuine(card_number), pull_after=after)
        with self._lock:
            if self._card is None:
                raise ValueError("pull: no card in the field; name one with 'card'")
            self._card.pull_after = self._card.apdus_answered + after
            return self._card

    def remove(self, *, wait: bool = True) -> None:
        """Take the card out; with ``wait``, return once pcscd has seen it go."""
        with self._lock:
            self._remove_locked(wait=wait)

    def _remove_locked(self, *, wait: bool) -> None:
        card, self._card = self._card, None
        if card is None:
            return
        card.remove()
        if wait:
            # pcscd polls the reader (about 0.4 s): a card swapped faster than
            # that looks like one long presence, and the reader's next exchange
            # fails. A hand takes longer to swap cards, so the simulator waits.
            with PcscReader(self.reader_name) as reader:
                reader.wait_for_removal(_REMOVAL_TIMEOUT)

    def state(self) -> dict[str, Any]:
        card = self._card
        if card is None or not card.in_field:
            return {"reader": self.reader_name, "card": None}
        profile = card.profile
        return {
            "reader": self.reader_name,
            "card": {
                "kind": profile.kind.value,
                "uid": profile.uid.hex().upper(),
                "number": profile.card_number if profile.kind is not CardKind.UID_ONLY else None,
                "apdus_answered": card.apdus_answered,
                "pull_after": card.pull_after,
            },
        }

    def handle_command(self, request: dict[str, Any]) -> dict[str, Any]:
        """One control command (see the module docstring) -> a JSON-able reply."""
        args = dict(request)
        name = args.pop("cmd", None)
        if name == "tap":
            self.tap(_text(args, "card"))
        elif name == "clone":
            self.tap_clone(_text(args, "card"))
        elif name == "uid_only":
            try:
                uid = bytes.fromhex(_text(args, "uid"))
            except ValueError as err:
                raise ValueError("uid_only: 'uid' is hex, e.g. 0A0B0C0D") from err
            self.tap_uid_only(uid)
        elif name == "pull":
            card = args.get("card")
            after = args.get("after", 3)
            if not isinstance(after, int) or after < 0:
                raise ValueError("pull: 'after' is a number of APDUs (0 or more)")
            self.pull_mid_read(None if card is None else str(card), after=after)
        elif name == "remove":
            self.remove()
        elif name != "state":
            known = "tap, clone, uid_only, pull, remove, state"
            raise ValueError(f"unknown command {name!r}; known: {known}")
        return self.state()


def _text(args: dict[str, Any], key: str) -> str:
    value = args.get(key)
    if value is None or str(value) == "":
        raise ValueError(f"missing {key!r}")
    return str(value)


def create(
    *, port: int = VPCD_PORT, host: str = VPCD_HOST, **_serial_options: Any
) -> CardSimulator:
    """The registry's factory (``prepaid sim card``): starts pcscd if none runs.

    Serial options (baud, pace) do not apply to a contactless card.
    """
    return CardSimulator(host=host, port=port, start_pcscd=True)
