"""What every device simulator shares: a pty, a byte loop, faults, a control channel.

Flow: a simulator (``bill_acceptor/simulator.py`` and its siblings) subclasses
``SerialSimulator``; ``start()`` opens a pty pair, keeps the slave end open (so
the driver may close and reopen the port) and runs a thread that reads the
master end, hands bytes to the device model and writes its answers back,
paced at the baud rate when asked. Faults common to every serial device (drop
the line, send garbage, corrupt or swallow the next reply) live here; the
device's own faults (jam, paper out) live in its module. ``ControlServer``
exposes ``handle_command`` as JSON lines over TCP; ``registry.SIMULATORS``
names every simulator for ``prepaid sim`` and ``sim://`` URLs.
"""
