"""The flows the kiosk controller (:mod:`kiosk.controller`) is assembled from, one a module.

Each is a class over :class:`kiosk.control.core.ControllerCore` (the shared state)
that inherits the flows it calls: cash credits through ``receipts``, fees read the
``overview`` again, ``identification`` hands a staff card to ``technician``.
"""
