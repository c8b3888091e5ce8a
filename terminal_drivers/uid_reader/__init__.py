"""Serial 125 kHz UID readers (EM4100 and look-alikes): framing, driver, simulator.

Flow: ``em4100.py`` turns the reader's ASCII output into ``Tag`` values (pure;
the RDM6300-style ``STX hex checksum ETX`` frame, or a plain line of 10 hex or
10 decimal digits); ``device.py`` (``UidReader``) reads a transport, drops the
repeats a reader sends while a tag stays in its field, and hands out
``UidRead`` values marked low assurance: a 125 kHz tag only says a number,
which anyone can copy, so DESIGN.md's caps for UID-only credentials apply.
``simulator.py`` is a reader on a pty.
"""
