"""Contactless card readers over PC/SC, and the estate's card application.

The flow through the package:

- ``pcsc``: a reader opened from ``pcsc://<reader name>``; card arrival and
  removal; ``connect()`` gives a channel that sends one APDU and returns its
  response (PC/SC return codes become the errors of ``errors``).
- ``estate_app``: on that channel, reads the UID, selects the estate
  application, runs the AES challenge and response with the card's diversified
  key and reads the card number under a session MAC. The result is a
  ``CardReading`` of high assurance, or of low assurance for a UID-only card.
- ``apdu`` and ``crypto`` are the pure halves (bytes in, bytes out);
  ``status_words`` maps SW1 SW2 to typed errors by table.
- ``applet`` is the card's side of the same application, ``virtual_card``
  serves it to pcscd through the vpcd virtual reader, and ``simulator`` is the
  control API (tap, remove, pull mid-read, present a clone) behind
  ``prepaid sim card``.
"""
