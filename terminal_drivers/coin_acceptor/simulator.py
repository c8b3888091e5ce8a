"""The acceptor's side of ccTalk on a pty: a coin acceptor at address 2 with its faults.

It answers the headers ``device.py`` uses, keeps the five-event buffer and the
event counter exactly as the specification describes (1..255, wrapping to 1;
0 only after power-up or reset), and on reset clears every inhibit, as real
acceptors do. Requests to other addresses are ignored, as on a shared bus.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

from terminal_drivers.coin_acceptor import cctalk
from terminal_drivers.coin_acceptor.codes import Header
from terminal_drivers.coin_acceptor.device import COIN_ACCEPTOR_ADDRESS, value_of_coin_id
from terminal_drivers.simulation.serial_device import Command as ControlCommand
from terminal_drivers.simulation.serial_device import SerialSimulator, SimulatorCommandError

log = logging.getLogger(__name__)

DEFAULT_COINS: dict[int, str] = {1: "EU010A", 2: "EU020A", 3: "EU050A", 4: "EU100A", 5: "EU200A"}
# Error codes the control channel can make happen (ccTalk table 3).
REJECT_COIN, INHIBITED_COIN, CREDIT_SENSOR_BLOCKED, FLIGHT_DECK_OPEN = 1, 2, 14, 254


class CoinAcceptorSimulator(SerialSimulator):
    name = "coin-acceptor"

    def __init__(
        self,
        *,
        baud: int = 9600,
        pace: bool = False,
        address: int = COIN_ACCEPTOR_ADDRESS,
        mode: str = "simple",
        coins: dict[int, str] | None = None,
        echo: bool = False,
    ) -> None:
        super().__init__(baud=baud, pace=pace, bits_per_byte=10)
        self.address = address
        self.mode = cctalk.ChecksumMode(mode)
        self.coins = dict(coins or DEFAULT_COINS)
        # A single-wire bus reads back every byte the host sends; most USB
        # ccTalk interfaces pass that echo on to the host.
        self.echo = echo
        self._framer = cctalk.Framer(self.mode)
        self.counter = 0
        self.buffer: deque[tuple[int, int]] = deque([(0, 0)] * 5, maxlen=5)
        self.inhibit_mask = 0  # bit set = position enabled
        self.master_enabled = False
        self.accepted: list[int] = []  # positions that went to the cash box, for tests
        self.serial_number = 0x012345

    def on_bytes(self, data: bytes) -> bytes:
        out = data if self.echo else b""
        for frame in self._framer.feed(data):
            if frame.destination == 0 and frame.header == Header.ADDRESS_POLL:
                # Broadcast address poll: one raw byte after 4 x address ms.
                time.sleep(0.004 * self.address)
                out += bytes([self.address])
                continue
            if frame.destination != self.address:
                continue
            reply = self._answer(frame.header, frame.data)
            if reply is not None:
                source = self.address
                out += cctalk.encode(cctalk.Frame(1, source, Header.REPLY, reply), self.mode)
        self._framer.take_discarded()
        return out

    def _answer(self, header: int, data: bytes) -> bytes | None:
        if header == Header.SIMPLE_POLL:
            return b""
        if header == Header.RESET_DEVICE:
            self._reset()
            return b""
        if header == Header.READ_BUFFERED_CREDIT:
            return bytes([self.counter]) + b"".join(bytes(pair) for pair in self.buffer)
        if header == Header.MODIFY_INHIBIT_STATUS and len(data) == 2:
            self.inhibit_mask = data[0] | (data[1] << 8)
            return b""
        if header == Header.REQUEST_INHIBIT_STATUS:
            return bytes([self.inhibit_mask & 0xFF, self.inhibit_mask >> 8])
        if header == Header.MODIFY_MASTER_INHIBIT and len(data) == 1:
            self.master_enabled = bool(data[0] & 1)
            return b""
        if header == Header.REQUEST_MASTER_INHIBIT:
            return bytes([1 if self.master_enabled else 0])
        if header == Header.REQUEST_COIN_ID and len(data) == 1:
            return self.coins.get(data[0], "......").encode("ascii")
        if header == Header.REQUEST_MANUFACTURER_ID:
            return b"SIM"
        if header == Header.REQUEST_EQUIPMENT_CATEGORY:
            return b"Coin Acceptor"
        if header == Header.REQUEST_PRODUCT_CODE:
            return b"PREPAID-SIM"
        if header == Header.REQUEST_SERIAL_NUMBER:
            return self.serial_number.to_bytes(3, "little")
        if header == Header.REQUEST_SOFTWARE_REVISION:
            return b"1.0"
        return None  # unknown headers get no reply (ccTalk: the host times out)

    def _reset(self) -> None:
        self.counter = 0
        self.buffer.extend([(0, 0)] * 5)
        self.inhibit_mask = 0
        self.master_enabled = False

    def _record(self, result_a: int, result_b: int) -> None:
        # The counter runs 1..255 and wraps to 1: 0 is kept for "just reset".
        self.counter = self.counter % 255 + 1
        self.buffer.appendleft((result_a, result_b))

    # -- control commands -------------------------------------------------------------
    def commands(self) -> dict[str, ControlCommand]:
        return {
            "coin": self.insert_coin,
            "counterfeit": self.counterfeit,
            "jam": self.jam,
            "error": self.error,
            "power_cycle": self.power_cycle,
        }

    def insert_coin(self, value: int | None = None, position: int | None = None) -> dict[str, Any]:
        """A genuine coin: by ``value`` in minor units (``200``) or by table ``position``."""
        if position is None:
            matches = [p for p, cid in self.coins.items() if value_of_coin_id(cid) == value]
            if not matches:
                raise SimulatorCommandError(f"no coin of value {value!r}")
            position = matches[0]
        enabled = self.master_enabled and self.inhibit_mask & (1 << (position - 1))
        if enabled:
            self._record(position, 1)  # result B: sorter path 1
            self.accepted.append(position)
            return {"accepted": position, "counter": self.counter}
        self._record(0, INHIBITED_COIN)
        return {"rejected": "inhibited", "counter": self.counter}

    def counterfeit(self) -> dict[str, Any]:
        self._record(0, REJECT_COIN)
        return {"rejected": "counterfeit", "counter": self.counter}

    def jam(self) -> dict[str, Any]:
        self._record(0, CREDIT_SENSOR_BLOCKED)
        return {"error": CREDIT_SENSOR_BLOCKED, "counter": self.counter}

    def error(self, code: int) -> dict[str, Any]:
        self._record(0, code)
        return {"error": code, "counter": self.counter}

    def power_cycle(self) -> dict[str, Any]:
        self._reset()
        return {"counter": 0}

    def state(self) -> dict[str, Any]:
        return {
            **super().state(),
            "counter": self.counter,
            "buffer": [list(pair) for pair in self.buffer],
            "inhibit_mask": self.inhibit_mask,
            "master_enabled": self.master_enabled,
            "accepted": list(self.accepted),
        }


def create(*, baud: int = 9600, pace: bool = False, **options: Any) -> CoinAcceptorSimulator:
    return CoinAcceptorSimulator(baud=baud, pace=pace, **options)
