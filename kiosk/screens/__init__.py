"""The kiosk's screens, one a module, each drawing a ``KioskView`` and nothing else.

:mod:`kiosk.app` puts them in its window; ``base`` is what they share, ``widgets``
what they draw with and ``names`` the words they show for the view's codes.
"""
