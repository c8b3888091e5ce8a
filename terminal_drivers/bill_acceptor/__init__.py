"""JCM ID-003 bill acceptor: framing, the driver's state machine, a simulator.

Flow: ``id003.py`` turns bytes into frames and back (pure, no I/O);
``codes.py`` names the command, status, reject and failure codes;
``device.py`` (``BillAcceptor``) polls the acceptor over a transport, answers
escrow with stack or return, acknowledges vend valid and turns what it sees
into ``BillEvent`` values: a note is ``CREDITED`` only on vend valid, once.
``simulator.py`` is the acceptor's side on a pty, with its faults.
"""
