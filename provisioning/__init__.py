"""The technician's tools, run on the terminal: ``prepaid provision ...``.

The flow:

1. ``enrol``: an Ed25519 key pair is made here (the private key never leaves the
   terminal, file mode 0600), the public key goes to the server with a one-time
   code, and the terminal's id and configuration come back into ``terminal.json``.
2. ``client.SignedClient``: every later request is signed (``domain.signing``); a
   refusal for a stale timestamp carries the server's time, the client corrects its
   clock offset and retries once.
3. ``keys.rotate``: a new key, proved and registered while the old one still signs.
4. ``config``: pull the newest version, apply it (write ``terminal.json``), acknowledge.
5. ``doctor``: every configured device's self-test (``terminal_drivers``).
6. ``heartbeat``: versions, device states, journal backlog and clock, to the server.

It talks to the server over HTTP only; it never imports ``central``.
"""
