"""Simulated household meters: a load model per meter and a fleet that reports them.

``model`` is pure (a register that advances along a daily load shape and obeys
supply commands); ``fleet`` runs many of them against the server over HTTP or
MQTT (``prepaid sim meters --count N``). Nothing here imports ``central``: the
fleet speaks only the ``domain.metering_messages`` wire messages.
"""
