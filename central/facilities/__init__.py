"""Facilities: gym, pool, laundry and club rooms paid from the services wallet.

Flow: ``tables.py`` holds facilities, their pass products, the passes residents
hold, entries (with anti-passback state) and per-minute sessions;
``service.py`` decides an entry with ``domain.facilities.decide_entry`` (the
same function a turnstile uses offline), and charges per use, uses a pass
visit, or places a hold that a session's stop captures, all in the caller's
transaction. ``central/api/routes_facilities.py`` exposes it over HTTP.
"""
