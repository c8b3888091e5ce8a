"""A raw pseudo-terminal pair: the device holds the master, the driver opens the slave path."""

from __future__ import annotations

import contextlib
import os
import tty


class PtyLink:
    def __init__(self) -> None:
        self.master_fd, self.slave_fd = os.openpty()
        # Raw mode: no echo, no CR/LF translation, no ^C handling; bytes are bytes.
        tty.setraw(self.slave_fd)
        tty.setraw(self.master_fd)
        # The slave fd stays open for the link's life: if the last slave fd
        # closes, reads on the master raise EIO until the driver reopens the port.
        self.path = os.ttyname(self.slave_fd)

    def close(self) -> None:
        for fd in (self.master_fd, self.slave_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
