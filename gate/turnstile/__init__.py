"""The turnstile app: gym, pool and club-room entry paid from the services wallet.

Flow: ``sources.py`` turns each reader (PC/SC card, 125 kHz UID reader, serial
or camera QR scanner) into ``Credential`` values; ``authoriser.py`` looks a
credential up in the terminal's snapshot and says what its household may
spend (offline limits applied when the snapshot is stale); ``controller.py``
decides with ``domain.facilities.decide_entry``, journals, pulses the relay and
charges only when the rotation sensor saw someone pass; ``app.py`` runs the
loop (readers, fire-alarm input); ``gate/cli.py`` is ``prepaid turnstile``.
"""
