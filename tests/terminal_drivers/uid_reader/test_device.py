"""The UID reader against the simulator over a real pty."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from terminal_drivers.transport import open_transport
from terminal_drivers.uid_reader.device import LINE, LOW_ASSURANCE, UidReader, self_test
from terminal_drivers.uid_reader.simulator import UidReaderSimulator
from tests.terminal_drivers.support import Conversation, no_leaked_threads

__all__ = ["no_leaked_threads"]


@pytest.fixture
def sim(no_leaked_threads: None) -> Iterator[UidReaderSimulator]:
    simulator = UidReaderSimulator()
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def reader(sim: UidReaderSimulator) -> Iterator[UidReader]:
    driver = UidReader(open_transport(sim.endpoint, defaults=LINE), repeat_window=0.3)
    yield driver
    driver.close()


def test_a_tap_is_one_low_assurance_read(reader: UidReader, sim: UidReaderSimulator) -> None:
    sim.tap("0100070C7F", repeat=4, interval_ms=30)  # held in the field: sent 4 times
    read = reader.read(1.0)
    assert read is not None
    assert (read.uid, read.assurance, read.technology) == ("0100070C7F", LOW_ASSURANCE, "em4100")
    assert reader.read(0.3) is None  # the repeats are the same tap


def test_each_format(reader: UidReader, sim: UidReaderSimulator) -> None:
    sim.tap("0100070C7F", format="hex")
    first = reader.read(1.0)
    sim.tap("0A0B0C0D0E", format="rdm6300")
    second = reader.read(1.0)
    sim.tap("00070C7F", format="decimal")
    third = reader.read(1.0)
    assert [r.uid for r in (first, second, third) if r] == ["0100070C7F", "0A0B0C0D0E", "00070C7F"]


def test_faults_are_never_reads(reader: UidReader, sim: UidReaderSimulator) -> None:
    sim.bad_checksum()
    sim.partial()
    sim.send_garbage(count=8, now=True)
    assert reader.read(0.2) is None
    sim.tap("0A0B0C0D0E")
    read = reader.read(1.0)
    assert read is not None
    assert read.uid == "0A0B0C0D0E"


def test_the_same_tag_again_after_the_window(reader: UidReader, sim: UidReaderSimulator) -> None:
    sim.tap("0100070C7F")
    assert reader.read(1.0) is not None
    assert reader.read(0.35) is None
    sim.tap("0100070C7F")
    assert reader.read(1.0) is not None


def test_self_test(sim: UidReaderSimulator) -> None:
    result = self_test(sim.endpoint)
    assert result.ok
    assert "no tag" in result.details["note"]


def test_conversation_reads_a_scripted_line() -> None:
    line = Conversation([])
    line._pending = b"0000461951\r\n"  # what a decimal reader sends for 0x00070C7F
    read = UidReader(line).read(0.1)
    assert read is not None
    assert read.uid == "00070C7F"
