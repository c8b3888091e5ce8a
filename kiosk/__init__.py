"""The lobby kiosk: residents identify, see their wallets, top up with cash, get a receipt.

The flow through the package:

- ``settings``: the one typed settings object (terminal id, server, device URLs).
- ``devices``: the peripherals opened from their URLs, each optional, with health.
- ``journal``: the local journal (SQLite, WAL, synchronous commit): every stacked note
  or coin, every top-up and its state (pending, applied) before anyone is told.
- ``gateway``: what the kiosk needs from the central server, over HTTP.
- ``controller``: owns devices, journal and gateway; one thread calls ``step``; it
  publishes immutable ``KioskView`` snapshots and takes intents from the screens.
  It is assembled from ``control``, a class for each flow (cash, QR payment, fees...).
- ``app``: the Kivy window; ``screens`` the screens in it, one a module, which only
  draw views and send intents; ``window``
  opens the window (offscreen without a display); ``i18n`` and ``fonts`` give the
  texts and a font that covers Chinese; ``gallery`` a view of every screen.
- ``cli``: ``prepaid kiosk run | walkthrough | screenshots``; ``walkthrough`` the
  demo's scripted run with simulated devices.

The kiosk never imports ``central``: it talks to the server over HTTP.
"""
