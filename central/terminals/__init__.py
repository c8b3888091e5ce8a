"""The terminal registry: who each kiosk, gate, turnstile and meter gateway is.

The flow:

1. ``enrolment.create_code``: a manager makes a one-time code for a terminal type
   and a location (24 h, single use, shown as text and QR).
2. ``enrolment.enrol``: the terminal sends the code, its new Ed25519 public key and
   a proof it holds the private one; it gets its id and its first configuration.
3. ``verify.verify_request`` (the app's ``TerminalVerifier``): every later request
   is signed (``domain.signing``); the server checks key, signature, body digest,
   clock, nonce, the terminal it acts for and the terminal's status.
4. ``keys.rotate``: a new key replaces the old one; the old one still verifies what
   it signed before.
5. ``config``: versioned per terminal; the terminal pulls, applies, acknowledges.
6. ``health``: heartbeats make each terminal online, degraded or offline.
7. ``lifecycle``: decommission (journal still lands, then keys die) and revoke.
"""
