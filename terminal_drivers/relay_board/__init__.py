"""Modbus RTU relay boards: framing, the driver, a simulator.

Flow: ``rtu.py`` turns line bytes into RTU frames and back (pure; CRC-16/Modbus,
resynchronises after garbage); ``device.py`` (``RelayBoard``) builds the
application PDUs with pymodbus's message classes, sends them through a
``Transport`` and maps exception replies to the driver errors; it pulses, holds
and closes relays and reads the board's inputs (loop detector, arm-up sensor,
turnstile rotation sensor, fire alarm). ``simulator.py`` is a board on a pty
that answers real RTU frames, with its faults.
"""
