"""The turnstile's loop: readers in turn, the fire-alarm input between them.

Each reader is asked with a short timeout, so a tap waits at most one round of
the others (``slice_s`` each) before it is handled; the inputs are read every
``fire_poll_s``. Reader errors are logged and the reader is retried: a
turnstile with one broken reader keeps serving the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from gate.turnstile.controller import Outcome, TurnstileController
from gate.turnstile.sources import Source
from terminal_drivers.errors import DriverError

log = logging.getLogger("gate.turnstile")


class TurnstileApp:
    def __init__(
        self,
        controller: TurnstileController,
        sources: Sequence[Source],
        *,
        slice_s: float = 0.02,
        fire_poll_s: float = 0.25,
        on_outcome: Callable[[Outcome], None] | None = None,
        exit_sources: Sequence[Source] = (),
    ) -> None:
        self.controller = controller
        self.sources = list(sources)
        # Readers on the way out: a pass shown there may enter again (anti-passback).
        self.exit_sources = list(exit_sources)
        self.slice_s = slice_s
        self.fire_poll_s = fire_poll_s
        self.on_outcome = on_outcome
        self._next_poll = 0.0

    def step(self) -> list[Outcome]:
        """One round: the fire-alarm input if due, then each reader once."""
        outcomes: list[Outcome] = []
        if time.monotonic() >= self._next_poll:
            self.controller.poll()
            self._next_poll = time.monotonic() + self.fire_poll_s
        for source in self.sources:
            try:
                presented = source.read(self.slice_s)
            except DriverError as err:
                log.error("%s reader: %s", source.name, err)
                time.sleep(self.slice_s)
                continue
            if presented is None:
                continue
            outcome = self.controller.present(presented.credential, at=presented.at)
            outcomes.append(outcome)
            if self.on_outcome is not None:
                self.on_outcome(outcome)
        for source in self.exit_sources:
            try:
                presented = source.read(self.slice_s)
            except DriverError as err:
                log.error("%s exit reader: %s", source.name, err)
                continue
            if presented is not None:
                self.controller.leave(presented.credential)
        return outcomes

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.step()
            except DriverError as err:
                # The relay board failed mid-passage: say so, keep serving.
                log.error("turnstile: %s", err)
                time.sleep(0.5)

    def close(self) -> None:
        for source in [*self.sources, *self.exit_sources]:
            try:
                source.close()
            except DriverError:
                log.warning("closing %s failed", source.name, exc_info=True)
