"""The barrier gate (``prepaid gate``): plate-reading entry and exit lanes.

Flow: ``controller`` (``GateController`` and its ``Lane``s) owns the relay
board, the lane cameras, the plate reader and the journal: a loop trigger
starts reading frames, ``lpr.voting`` gives one decision per vehicle, ``book``
(``ParkingBook``) decides from the snapshot with ``domain.parking`` (the same
pricing the server uses), the decision is journalled and the arm raised; the
decision record goes to the server's ``/v1/parking`` endpoints through an
``Uplink``, now or after an outage. ``app`` wires the real devices; ``cli`` is
``prepaid gate``. Nothing here imports ``central``.
"""
