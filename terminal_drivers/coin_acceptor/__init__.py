"""ccTalk coin acceptor: framing, the driver, a simulator.

Flow: ``cctalk.py`` turns bytes into frames and back (pure; 8-bit checksum or
CRC-16 mode); ``codes.py`` names the headers and the error codes;
``device.py`` (``CoinAcceptor``) sets inhibits, polls "read buffered credit or
error codes" and turns the event counter into ``CoinEvent`` values: a coin is
counted once even when a reply is lost and re-read, and none is lost across a
reset. ``simulator.py`` is the acceptor's side on a pty.
"""
